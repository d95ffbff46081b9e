"""ClientApp: trains and evaluates the model on this SuperNode's partition, chosen by
--node-config 'partition-id=N num-partitions=M'."""

import time

from flwr.app import ArrayRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp

from flkit_app import task

app = ClientApp()


def _partition(context: Context):
    nc = context.node_config
    seed = int(context.run_config.get("data-seed", 2026))
    return task.load_partition(
        seed, int(nc.get("partition-id", 0)), int(nc.get("num-partitions", 1))
    )


@app.train()
def train(msg: Message, context: Context) -> Message:
    x, y, _, _ = _partition(context)
    arrays = msg.content["arrays"].to_numpy_ndarrays()
    cfg = msg.content["config"] if "config" in msg.content else {}
    # FedProx puts "proximal-mu" into the train config; other strategies leave it out.
    mu = float(cfg.get("proximal-mu", 0.0))
    lr = float(context.run_config.get("client-lr", 0.1))
    epochs = int(context.run_config.get("local-epochs", 5))
    loss, _ = task.loss_and_accuracy(arrays, x, y)
    new = task.train(arrays, x, y, lr, epochs, mu)
    # A stand-in for a long local training (tests of idle connections); 0 by default.
    time.sleep(float(context.run_config.get("train-delay-s", 0)))
    reply = RecordDict(
        {
            "arrays": ArrayRecord(new),
            "metrics": MetricRecord({"train_loss": loss, "num-examples": len(y)}),
        }
    )
    return Message(content=reply, reply_to=msg)


@app.evaluate()
def evaluate(msg: Message, context: Context) -> Message:
    _, _, x, y = _partition(context)
    arrays = msg.content["arrays"].to_numpy_ndarrays()
    loss, acc = task.loss_and_accuracy(arrays, x, y)
    reply = RecordDict(
        {
            "metrics": MetricRecord(
                {"eval_loss": loss, "eval_accuracy": acc, "num-examples": len(y)}
            )
        }
    )
    return Message(content=reply, reply_to=msg)
