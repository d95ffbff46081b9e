"""ServerApp: builds the strategy named by the run-config (design 03 §3), resumes from the
latest checkpoint, runs the rounds, and reports them as JSON events (design 04 §3.2) and
checkpoint files (design 03 §4)."""

import logging
import time

import flwr
import flwr.serverapp.strategy as flwr_strategies
from flwr.app import ArrayRecord, Context, MetricRecord
from flwr.serverapp import Grid, ServerApp

from flkit_app import checkpoint, events, task

try:  # Flower's own logger function (flwr.common.logger in 1.25 ... 1.41)
    from flwr.common.logger import log
except ImportError:  # pragma: no cover - a later relocation
    log = logging.getLogger("flwr").log

STRATEGIES = ("FedAvg", "FedProx", "FedAdam", "Krum", "Bulyan", "FedTrimmedAvg")

app = ServerApp()


def _get(cfg, key, cast, default):
    value = cfg.get(key, default)
    try:
        return cast(value)
    except (TypeError, ValueError):
        log(logging.WARNING, "run-config %s=%r is not a valid %s; using %r",
            key, value, cast.__name__, default)
        return cast(default)


def _flag(value) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("true", "yes", "1")


class Tracker:
    """Per-round bookkeeping behind the round_start / round_end / training_end events."""

    def __init__(self, strategy: str, num_rounds: int) -> None:
        self.strategy, self.num_rounds = strategy, num_rounds
        self.t0 = time.time()
        self.round_t0: dict[int, float] = {}
        self.responded: dict[int, int] = {}
        self.client_eval: dict[int, MetricRecord | None] = {}
        self.final_loss = self.final_acc = None

    def round_start(self, rnd: int, selected: int) -> None:
        self.round_t0[rnd] = time.time()
        events.emit("round_start", {"round": rnd, "num_clients_selected": selected,
                                    "strategy": self.strategy})

    def replies(self, rnd: int, replies) -> int:
        ok = 0
        for msg in replies:
            if msg.has_error():
                events.emit("client_failure", {
                    "round": rnd, "node_id": str(msg.metadata.src_node_id),
                    "error_type": str(msg.error.reason or msg.error.code)}, logging.WARNING)
            else:
                ok += 1
        return ok

    def round_end(self, rnd: int, loss: float, acc: float) -> None:
        metrics = self.client_eval.get(rnd)
        if metrics is not None and "eval_loss" in metrics:
            loss = float(metrics["eval_loss"])
            acc = float(metrics.get("eval_accuracy", acc))
        self.final_loss, self.final_acc = loss, acc
        events.emit("round_end", {
            "round": rnd, "num_clients_responded": self.responded.get(rnd, 0),
            "aggregated_loss": loss, "aggregated_accuracy": acc,
            "round_duration_seconds": round(time.time() - self.round_t0.get(rnd, self.t0), 3)})


def instrument(cls, tracker: Tracker):
    """A subclass of the Flower strategy that reports selection, replies and aggregates."""

    class Instrumented(cls):
        def configure_train(self, server_round, arrays, config, grid):
            msgs = list(super().configure_train(server_round, arrays, config, grid))
            tracker.round_start(server_round, len(msgs))
            return msgs

        def aggregate_train(self, server_round, replies):
            replies = list(replies)
            tracker.responded[server_round] = tracker.replies(server_round, replies)
            return super().aggregate_train(server_round, replies)

        def aggregate_evaluate(self, server_round, replies):
            replies = list(replies)
            tracker.replies(server_round, replies)
            agg = super().aggregate_evaluate(server_round, replies)
            tracker.client_eval[server_round] = agg
            return agg

    # Flower logs "Starting <class name> strategy".
    Instrumented.__name__ = cls.__name__
    Instrumented.__qualname__ = cls.__qualname__
    return Instrumented


def build_strategy(cfg, tracker_for):
    """(strategy, name) from the run-config keys of `fl-context run-config`."""
    name = str(cfg.get("strategy", "FedAvg"))
    if name not in STRATEGIES:
        # Boot validation rejects unknown names; this is defence in depth.
        log(logging.WARNING, "Unknown strategy '%s'. Valid options: %s. Using FedAvg.",
            name, ", ".join(STRATEGIES))
        name = "FedAvg"
    cls = getattr(flwr_strategies, name, None)
    if cls is None:
        log(logging.WARNING, "Flower %s has no Message-API strategy %s. Using FedAvg.",
            flwr.__version__, name)
        name, cls = "FedAvg", flwr_strategies.FedAvg
    kwargs = {
        "fraction_train": 1.0,
        "fraction_evaluate": 1.0,
        "min_train_nodes": _get(cfg, "min-fit-clients", int, 2),
        "min_evaluate_nodes": _get(cfg, "min-evaluate-clients", int, 2),
        "min_available_nodes": _get(cfg, "min-available-clients", int, 2),
    }
    if name == "FedProx":
        kwargs["proximal_mu"] = _get(cfg, "proximal-mu", float, 1.0)
    elif name == "FedAdam":
        kwargs.update(eta=_get(cfg, "server-lr", float, 0.1),
                      eta_l=_get(cfg, "client-lr", float, 0.1),
                      beta_1=0.9, beta_2=0.99, tau=1e-9)
    elif name in ("Krum", "Bulyan"):
        kwargs["num_malicious_nodes"] = _get(cfg, "num-malicious", int, 0)
    elif name == "FedTrimmedAvg":
        kwargs["beta"] = _get(cfg, "trim-beta", float, 0.2)
    tracker = tracker_for(name)
    return instrument(cls, tracker)(**kwargs), name, tracker


def initial_model(cfg, enabled: bool, path: str):
    """Fresh arrays, or those of the latest committed round that verifies (design 03 §4.5,
    `fl-ckpt latest --fallback`). Rounds restart at 1."""
    fresh = task.initial_arrays()
    if not enabled:
        return fresh
    found = checkpoint.load_latest(path)
    if found is None:
        log(logging.INFO, "No checkpoint found at %s. Starting fresh training.", path)
        return fresh
    arrays, rnd = found
    shapes = [a.shape for a in arrays]
    if shapes != [a.shape for a in fresh]:
        raise ValueError(f"{path}: round {rnd}: array shapes {shapes} do not fit this "
                         f"model {[a.shape for a in fresh]}; move the checkpoints away")
    log(logging.INFO, "Resuming from checkpoint: round %d (%d arrays loaded)", rnd, len(arrays))
    return arrays


@app.main()
def main(grid: Grid, context: Context) -> None:
    cfg = context.run_config
    events.set_enabled(_flag(cfg.get("events-enabled", True)))
    num_rounds = _get(cfg, "num-server-rounds", int, 3)
    ckpt_on = _flag(cfg.get("checkpoint-enabled", False))
    ckpt_path = str(cfg.get("checkpoint-path", "/app/checkpoints"))
    ckpt_every = _get(cfg, "checkpoint-interval", int, 5)
    # 0: no retention here (fl-ckpt prune on the host may run it instead).
    ckpt_keep = max(_get(cfg, "checkpoint-keep", int, 0), 0)
    if _flag(cfg.get("metrics-enabled", False)):
        # fl-metrics serves /metrics from these JSON events; the app opens no port of its own
        # (both binding metrics-port would fail with "Address already in use").
        log(logging.INFO, "metrics-enabled: /metrics on port %s is served by fl-metrics "
            "from this run's JSON events", cfg.get("metrics-port", 9101))

    strategy, name, tracker = build_strategy(cfg, lambda n: Tracker(n, num_rounds))
    arrays = initial_model(cfg, ckpt_on, ckpt_path)
    events.emit("training_start", {"strategy": name, "num_rounds": num_rounds,
                                   "min_clients": _get(cfg, "min-available-clients", int, 2)})
    x_test, y_test = task.load_server_testset(_get(cfg, "data-seed", int, 2026))

    def evaluate_fn(server_round: int, arr: ArrayRecord) -> MetricRecord:
        nds = arr.to_numpy_ndarrays()
        loss, acc = task.loss_and_accuracy(nds, x_test, y_test)
        events.emit("evaluation_result", {"round": server_round, "loss": loss,
                                          "accuracy": acc, "num_examples": len(y_test)})
        if server_round > 0:
            if ckpt_on and checkpoint.should_save(server_round, ckpt_every, num_rounds):
                try:
                    # The metrics go into the round's manifest entry (fl-ckpt prune
                    # --keep-best reads them).
                    path, size = checkpoint.save(ckpt_path, server_round, nds,
                                                 metrics={"loss": loss, "accuracy": acc},
                                                 keep=ckpt_keep)
                except (OSError, checkpoint.CheckpointError) as e:
                    # Training goes on; the ERROR line and the missing event say what is lost.
                    log(logging.ERROR, "checkpoint of round %d to %s failed: %s",
                        server_round, ckpt_path, e)
                else:
                    events.emit("checkpoint_saved", {"round": server_round, "path": path,
                                                     "size_bytes": size})
            tracker.round_end(server_round, loss, acc)
        return MetricRecord({"loss": loss, "accuracy": acc})

    strategy.start(grid=grid, initial_arrays=ArrayRecord(arrays), num_rounds=num_rounds,
                   evaluate_fn=evaluate_fn)
    events.emit("training_end", {
        "total_rounds": num_rounds, "final_loss": tracker.final_loss,
        "final_accuracy": tracker.final_acc,
        "total_duration_seconds": round(time.time() - tracker.t0, 3)})
