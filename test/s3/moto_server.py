"""A moto S3 server on loopback with authentication enforced, for the flkit tests.

Usage: moto_server.py DIR. Every request is authenticated from the first one
(INITIAL_NO_AUTH_ACTION_COUNT=0): the IAM user, its access key and an s3:* policy are made
through moto's backend in this process, never over HTTP, and the key is written to DIR/credentials
(AWS credentials-file format, mode 0600). DIR/endpoint receives http://127.0.0.1:PORT once the
server answers. Stops on SIGTERM or SIGINT.
"""

import os
import signal
import sys
import threading

os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = "0"
os.environ.setdefault("MOTO_ALLOW_NONEXISTENT_REGION", "true")

from moto.core import DEFAULT_ACCOUNT_ID  # noqa: E402
from moto.iam.models import iam_backends  # noqa: E402
from moto.moto_server.threaded_moto_server import ThreadedMotoServer  # noqa: E402

POLICY = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}'


def write_private(path, text):
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, path)


def main():
    d = sys.argv[1]
    iam = iam_backends[DEFAULT_ACCOUNT_ID]["aws"]
    iam.create_user(region_name="us-east-1", user_name="flkit-test")
    iam.put_user_policy("flkit-test", "s3-all", POLICY)
    key = iam.create_access_key("flkit-test")
    write_private(
        os.path.join(d, "credentials"),
        "[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n"
        % (key.access_key_id, key.secret_access_key),
    )
    srv = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    srv.start()
    host, port = srv.get_host_and_port()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    write_private(os.path.join(d, "endpoint"), "http://%s:%d\n" % (host, port))
    done.wait()
    srv.stop()


if __name__ == "__main__":
    main()
