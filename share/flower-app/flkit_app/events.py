"""JSON event lines (design 04 §3.2): one compact JSON object per line on stderr, which the
SuperLink captures (Flower >= 1.27: the run's log, `flwr log`; <= 1.26: also its own stderr)."""

import json
import logging
import math
import sys
import time

EVENTS = (
    "training_start", "round_start", "round_end", "training_end", "client_join",
    "client_leave", "checkpoint_saved", "evaluation_result", "client_failure",
    "training_stalled", "gpu_detected", "gpu_unavailable",
)


def _finite(v):
    """JSON has no NaN/Infinity; jq and most parsers reject them, so they become null."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_finite(x) for x in v]
    return v


class JsonFormatter(logging.Formatter):
    """Builds the line from the raw record fields, never from Flower's formatted text."""

    def __init__(self, role: str) -> None:
        super().__init__()
        self.role = role

    def format(self, record: logging.LogRecord) -> str:
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        obj = {
            "timestamp": f"{ts}.{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name.split(".")[0],
            "role": self.role,
            "message": record.getMessage(),
            "source": f"{record.filename}:{record.lineno}",
        }
        if hasattr(record, "fl_event"):
            obj["event"] = record.fl_event
        if hasattr(record, "fl_data"):
            obj["data"] = _finite(record.fl_data)
        return json.dumps(obj, separators=(",", ":"), allow_nan=False)


def get_logger(role: str = "superlink") -> logging.Logger:
    """The event logger. It does not propagate to Flower's `flwr` handler, which would wrap
    the JSON in its coloured `INFO :` prefix."""
    logger = logging.getLogger("flwr.flkit.events")
    if not logger.handlers:
        # sys.stderr as it is now: flwr-serverapp has already hooked its write() to capture
        # the run's output.
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter(role))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger


# run-config `events-enabled` (default true); false: no JSON event at all, so that metrics can
# be shown to come from the SuperLink state database alone (fl-metrics --db).
_enabled = True


def set_enabled(on: bool) -> None:
    global _enabled
    _enabled = bool(on)


def emit(event: str, data: dict, level: int = logging.INFO) -> None:
    if event not in EVENTS:
        raise ValueError(f"unknown event {event!r}")
    if not _enabled:
        return
    get_logger().log(
        level, "%s: %r", event, data, extra={"fl_event": event, "fl_data": data}, stacklevel=2
    )
