"""strategies.py: run the flkit app's ServerApp and ClientApp in one process, through a
loopback Grid that hands each message straight to the ClientApp of one of two nodes, for the
run-config read as TOML from stdin (`fl-context run-config --format toml`). No SuperLink, so
all six strategies can be exercised against a given flwr in seconds; the real transport is
federation.sh's job.

usage: python strategies.py APP_DIR [NUM_NODES] < run-config.toml   (NUM_NODES default 2)
stdout: the app's JSON event lines. Exit 0 when the ServerApp returned."""

import itertools
import sys
import time

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from flwr.app import Context, Message, RecordDict
from flwr.serverapp import Grid

try:  # Flower >= ~1.40 takes the sender of a new Message from the process's task identity,
    # which flwr-serverapp sets; 1.25 had no such thing.
    from flwr.supercore.task_identity import TaskIdentity
except ImportError:
    TaskIdentity = None


class LoopbackGrid(Grid):
    """Delivers every message to node `dst_node_id` by calling its ClientApp directly."""

    def __init__(self, client_app, run_config, num_nodes=2):
        self._app = client_app
        self._ids = itertools.count(1)
        self._nodes = {
            1000 + i: Context(
                run_id=1, node_id=1000 + i, state=RecordDict(), run_config=run_config,
                node_config={"partition-id": i, "num-partitions": num_nodes},
            )
            for i in range(num_nodes)
        }
        self._replies = {}

    @property
    def run(self):
        return None

    def set_run(self, run_id):
        pass

    def create_message(self, content, message_type, dst_node_id, group_id, ttl=None):
        return Message(content=content, dst_node_id=dst_node_id, message_type=message_type,
                       group_id=group_id)

    def get_node_ids(self):
        return list(self._nodes)

    def push_messages(self, messages):
        ids = []
        for msg in messages:
            mid = f"m{next(self._ids)}"
            self._replies[mid] = self._app(msg, self._nodes[msg.metadata.dst_node_id])
            ids.append(mid)
        return ids

    def pull_messages(self, message_ids):
        return [self._replies.pop(m) for m in message_ids if m in self._replies]

    def send_and_receive(self, messages, *, timeout=None):
        return self.pull_messages(self.push_messages(messages))


def main():
    if len(sys.argv) not in (2, 3) or not sys.argv[-1].strip():
        sys.exit(__doc__.split("\n\n")[1])
    app_dir = sys.argv[1]
    num_nodes = int(sys.argv[2]) if len(sys.argv) == 3 else 2
    with open(f"{app_dir}/pyproject.toml", "rb") as f:
        run_config = dict(tomllib.load(f)["tool"]["flwr"]["app"]["config"])
    override = tomllib.loads(sys.stdin.read())
    unknown = set(override) - set(run_config)
    if unknown:  # what `flwr run` would refuse
        sys.exit(f"run-config keys not in [tool.flwr.app.config]: {sorted(unknown)}")
    run_config.update(override)
    sys.path.insert(0, app_dir)
    from flkit_app import client_app, events, server_app  # noqa: E402

    if TaskIdentity is not None:
        TaskIdentity.run_id, TaskIdentity.node_id, TaskIdentity.task_id = 1, 0, 1
    events.get_logger().handlers[0].setStream(sys.stdout)
    grid = LoopbackGrid(client_app.app, run_config, num_nodes)
    ctx = Context(run_id=1, node_id=0, node_config={}, state=RecordDict(),
                  run_config=run_config)
    t0 = time.time()
    server_app.main(grid, ctx)
    print(f"done in {time.time() - t0:.2f}s", file=sys.stderr)


if __name__ == "__main__":
    main()
