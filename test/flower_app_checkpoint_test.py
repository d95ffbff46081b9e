"""Checks of the demo app's checkpoint saver and resume (share/flower-app/flkit_app/checkpoint.py),
one per behaviour, driven by test/flower-app.bats: `python flower_app_checkpoint_test.py CASE DIR`
prints "ok" when CASE holds, and what failed otherwise (exit 1)."""

import hashlib
import io
import json
import logging
import os
import random
import signal
import subprocess
import sys
import threading
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
APP = os.path.join(HERE, "..", "share", "flower-app")
sys.path.insert(0, APP)
from flkit_app import checkpoint as c  # noqa: E402

CASES = {}


class Logs(logging.Handler):
    """The saver's log lines, kept for assertions; `waiting` is set on the lock wait."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.lines = []
        self.waiting = threading.Event()

    def emit(self, record):
        line = f"{record.levelname} {record.getMessage()}"
        self.lines.append(line)
        if "waiting for another fl-ckpt" in line:
            self.waiting.set()

    def has(self, *parts):
        return any(all(p in line for p in parts) for line in self.lines)


LOGS = Logs()
c.log.addHandler(LOGS)
c.log.setLevel(logging.INFO)


def case(f):
    CASES[f.__name__] = f
    return f


def model(rnd, n=2, size=8):
    """Arrays that tell their round and index apart."""
    return [np.full(size + i, rnd * 100 + i, dtype=np.float32) for i in range(n)]


def same(a, b):
    return len(a) == len(b) and all(
        x.dtype == y.dtype and x.shape == y.shape and (x == y).all() for x, y in zip(a, b))


def manifest(d):
    with open(os.path.join(d, c.MANIFEST), "rb") as f:
        return c.parse_manifest(f.read())


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def temps(d):
    return sorted(n for n in os.listdir(d) if n.endswith(".tmp") or n.startswith(".fl-ckpt.") and
                  n != c.LOCK)


@case
def commit(d):
    """The round file is np.savez's own bytes; the manifest entry holds its size, SHA-256,
    arrays, time and metrics; the link and the spec's JSON follow."""
    arrays = model(3, n=3)
    path, size = c.save(d, 3, arrays, metrics={"loss": 0.25, "accuracy": 0.5, "bad": float("nan")})
    ref = io.BytesIO()
    np.savez(ref, *arrays)
    with open(path, "rb") as f:
        assert f.read() == ref.getvalue(), "the round file is not np.savez's bytes"
    [e] = manifest(d)
    assert e["round"] == 3 and e["file"] == "checkpoint_round_3.npz", e
    assert e["size"] == size == os.path.getsize(path) and e["arrays"] == 3, e
    assert e["sha256"] == sha256(path), e
    assert e["metrics"] == {"loss": 0.25, "accuracy": 0.5}, e  # NaN has no JSON form
    assert os.readlink(os.path.join(d, c.LATEST)) == "checkpoint_round_3.npz"
    meta = json.load(open(os.path.join(d, c.META)))
    assert meta["round"] == 3 and meta["num_arrays"] == 3 and meta["timestamp"].endswith("+00:00")
    st = os.stat(os.path.join(d, c.LOCK))
    assert st.st_mode & 0o777 == 0o644, oct(st.st_mode)
    for n in (c.MANIFEST, c.META, "checkpoint_round_3.npz"):
        assert os.stat(os.path.join(d, n)).st_mode & 0o777 == 0o644, n
    assert temps(d) == [], temps(d)


# Reals as jansson writes them: 17 digits, ".0" added, exponents without '+' or leading 0.
FIXTURE_METRICS = {2: {"loss": 0.1, "accuracy": 3, "tiny": 1e-20, "huge": 1.5e300},
                   10: {"loss": 0.06251, "eval.acc-x_1": -2.5}}


@case
def fixture(d):
    """With fixed times the manifest and round 10 are the bytes of test/fixtures/manifest/
    (which the C unit test test_manifest_saver reads back through fl_manifest_parse/format
    and fl_npz_verify)."""
    times = iter(["2026-01-02T03:04:05Z", "2026-01-02T03:04:06Z", "2026-01-02T03:04:07Z"])
    for rnd in (1, 2, 10):
        c.save(d, rnd, model(rnd), metrics=FIXTURE_METRICS.get(rnd), now=lambda: next(times))
    for name, fixture_name in ((c.MANIFEST, "saver.json"),
                               ("checkpoint_round_10.npz", "saver_round_10.npz")):
        with open(os.path.join(d, name), "rb") as f:
            got = f.read()
        with open(os.path.join(HERE, "fixtures", "manifest", fixture_name), "rb") as f:
            want = f.read()
        assert got == want, f"{name} is not test/fixtures/manifest/{fixture_name}"


@case
def fixture_write(d):
    """Rewrite the fixture (when the saver's format changes on purpose)."""
    times = iter(["2026-01-02T03:04:05Z", "2026-01-02T03:04:06Z", "2026-01-02T03:04:07Z"])
    for rnd in (1, 2, 10):
        c.save(d, rnd, model(rnd), metrics=FIXTURE_METRICS.get(rnd), now=lambda: next(times))
    os.makedirs(os.path.join(HERE, "fixtures", "manifest"), exist_ok=True)
    for name, fixture_name in ((c.MANIFEST, "saver.json"),
                               ("checkpoint_round_10.npz", "saver_round_10.npz")):
        with open(os.path.join(d, name), "rb") as f, \
                open(os.path.join(HERE, "fixtures", "manifest", fixture_name), "wb") as g:
            g.write(f.read())


@case
def numeric_order(d):
    """12 arrays resume in numeric order (arr_10 and arr_11 after arr_9)."""
    arrays = [np.full(i + 1, i, np.int64) for i in range(12)]
    c.save(d, 4, arrays)
    got, rnd = c.load_latest(d)
    assert rnd == 4 and same(got, arrays), [a.shape for a in got]
    with np.load(os.path.join(d, c.LATEST)) as z:  # what the spec's sorted() would have done
        assert sorted(z.files)[2] == "arr_10"


@case
def corrupt_newest(d):
    """A corrupted newest round is skipped for the previous committed round, saying why."""
    for rnd in (4, 5):
        c.save(d, rnd, model(rnd))
    p = os.path.join(d, "checkpoint_round_5.npz")
    with open(p, "r+b") as f:
        f.seek(os.path.getsize(p) - 40)
        b = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([b[0] ^ 0x01]))
    got, rnd = c.load_latest(d)
    assert rnd == 4 and same(got, model(4)), rnd
    assert LOGS.has("WARNING", "round 5", "SHA-256", "skipped"), LOGS.lines
    assert LOGS.has("resuming from round 4", "newest committed round that verifies"), LOGS.lines
    # Truncated, then gone: the same fallback.
    os.truncate(p, 100)
    assert c.load_latest(d)[1] == 4 and LOGS.has("round 5", "100 bytes, the manifest says")
    os.remove(p)
    assert c.load_latest(d)[1] == 4


@case
def uncommitted_newest(d):
    """A newer round file with no manifest entry is never resumed from, even as the link's
    target."""
    c.save(d, 5, model(5))
    np.savez(os.path.join(d, "checkpoint_round_9.npz"), *model(9))
    got, rnd = c.load_latest(d)
    assert rnd == 5 and same(got, model(5))
    assert LOGS.has("round 9", "no manifest entry (uncommitted)"), LOGS.lines
    os.remove(os.path.join(d, c.LATEST))
    os.symlink("checkpoint_round_9.npz", os.path.join(d, c.LATEST))
    assert c.load_latest(d)[1] == 5
    assert LOGS.has("round 9", c.LATEST, "uncommitted"), LOGS.lines


@case
def latest_link_first(d):
    """The latest link's committed round wins over a higher one (a later run restarted its
    rounds at 1; fl-ckpt restore --round repointed the link)."""
    c.save(d, 7, model(7))
    c.save(d, 1, model(1))
    got, rnd = c.load_latest(d)
    assert rnd == 1 and same(got, model(1)) and LOGS.has("latest link's target")


@case
def spec_layout(d):
    """A directory of the spec's saver (no manifest): the latest link, with a warning; a
    dangling link is no checkpoint; no directory is none."""
    assert c.load_latest(os.path.join(d, "absent")) is None
    os.makedirs(d)
    np.savez(os.path.join(d, "checkpoint_round_3.npz"), *model(3, n=11))
    os.symlink("checkpoint_round_3.npz", os.path.join(d, c.LATEST))
    got, rnd = c.load_latest(d)
    assert rnd == 3 and same(got, model(3, n=11))
    assert LOGS.has("WARNING", "has no checkpoint_manifest.json", "unverified"), LOGS.lines
    os.remove(os.path.join(d, "checkpoint_round_3.npz"))
    assert c.load_latest(d) is None


@case
def stale_temps(d):
    """A stale temp of a dead pid is removed at the next save; a live writer's stays."""
    dead = subprocess.Popen(["true"])
    dead.wait()
    live = subprocess.Popen(["sleep", "60"])
    try:
        os.makedirs(d, exist_ok=True)
        for name in (f".fl-ckpt.{dead.pid}.0123abcd.tmp", f".fl-ckpt.{live.pid}.89ef.tmp",
                     ".checkpoint_manifest.json.Ab12Cd"):
            with open(os.path.join(d, name), "wb") as f:
                f.write(b"partial")
        c.save(d, 2, model(2))
        assert temps(d) == [f".fl-ckpt.{live.pid}.89ef.tmp"], temps(d)
        assert LOGS.has(f".fl-ckpt.{dead.pid}.0123abcd.tmp", "killed checkpoint writer")
    finally:
        live.kill()
        live.wait()


@case
def lock_wait(d):
    """A concurrent holder of .fl-ckpt.lock makes save wait; it commits once released."""
    import fcntl
    os.makedirs(d, exist_ok=True)
    holder = os.open(os.path.join(d, c.LOCK), os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(holder, fcntl.LOCK_EX)
    done = []
    t = threading.Thread(target=lambda: done.append(c.save(d, 6, model(6))))
    t.start()
    assert LOGS.waiting.wait(120), "save never said it waits for the lock"
    assert not done and not os.path.exists(os.path.join(d, "checkpoint_round_6.npz"))
    assert not os.path.exists(os.path.join(d, c.MANIFEST))
    os.close(holder)  # releases the lock
    t.join()
    assert done and [e["round"] for e in manifest(d)] == [6]
    # A bounded wait gives up with the fix in the message.
    holder = os.open(os.path.join(d, c.LOCK), os.O_RDWR)
    fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        c.save(d, 7, model(7), lock_timeout=0)
        raise AssertionError("save did not give up")
    except c.CheckpointError as e:
        assert "gave up waiting" in str(e) and "fuser -v" in str(e), e
    finally:
        os.close(holder)
    assert [e["round"] for e in manifest(d)] == [6]


SAVER = """
import sys
sys.path.insert(0, sys.argv[1])
import numpy as np
from flkit_app import checkpoint as c
d = sys.argv[2]
for rnd in range(int(sys.argv[3]), 100000):
    c.save(d, rnd, [np.full(5000 + i, rnd * 100 + i, np.float32) for i in range(12)])
    print(rnd, flush=True)
"""


@case
def kill9(d):
    """kill -9 of a saving process at random points, 20 times: each time the resume finds a
    committed round whose arrays are that round's, and the next save leaves no temp."""
    rng = random.Random(int(os.environ.get("FLKIT_KILL_SEED", "11")))
    os.makedirs(d)
    mid_save, start = 0, 1
    for i in range(20):
        p = subprocess.Popen([sys.executable, "-B", "-c", SAVER, APP, d, str(start)],
                             stdout=subprocess.PIPE)
        # Killed once it saves: after one commit, at a random point of the next ones.
        assert p.stdout.readline().strip() == str(start).encode(), "the saver did not commit"
        time.sleep(rng.uniform(0, 0.3))
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        p.stdout.close()
        assert p.returncode == -signal.SIGKILL
        if temps(d):
            mid_save += 1
        got, rnd = c.load_latest(d)
        want = [np.full(5000 + k, rnd * 100 + k, np.float32) for k in range(12)]
        assert same(got, want), f"kill {i}: round {rnd} does not hold its arrays"
        entries = manifest(d)
        top = max(e["round"] for e in entries)
        # The link lags the manifest by one round when the kill fell between the two.
        assert rnd in (top, top - 1) and rnd in [e["round"] for e in entries], (rnd, top)
        start = top + 1
        for e in entries:  # every committed round verifies
            assert sha256(os.path.join(d, e["file"])) == e["sha256"], e
        # The spec's unmodified resume (np.load of the link) finds a committed round too.
        target = c._ROUND_RE.match(os.readlink(os.path.join(d, c.LATEST)))
        assert target and int(target.group(1)) in [e["round"] for e in entries], target
        with np.load(os.path.join(d, c.LATEST)) as z:
            assert len(z.files) == 12
    print(f"# {mid_save} of 20 kills left a temp file behind", file=sys.stderr)
    assert mid_save >= 1, "no kill landed inside a save (the saver loops on saves)"
    c.save(d, 99999, model(1))
    assert temps(d) == [], temps(d)


STEPPER = """
import os, signal, sys
sys.path.insert(0, sys.argv[1])
import numpy as np
from flkit_app import checkpoint as c
d, kill_at, n = sys.argv[2], int(sys.argv[3]), [0]
def step(f):
    def g(*a, **kw):
        n[0] += 1
        if n[0] == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        return f(*a, **kw)
    return g
for name in ("open", "fsync", "replace", "symlink", "unlink", "close"):
    setattr(os, name, step(getattr(os, name)))
c.save(d, 2, [np.full(300 + i, 200 + i, np.float32) for i in range(3)])
print(n[0])
"""


@case
def kill_points(d):
    """A kill before each file-system call of a save in turn (open, close, fsync, rename,
    symlink, unlink): the resume finds round 1 or round 2, whole; the link names a committed
    round; the next save removes what the killed one left."""
    def run(k, where):
        c.save(where, 1, [np.full(300 + i, 100 + i, np.float32) for i in range(3)])
        p = subprocess.run([sys.executable, "-B", "-c", STEPPER, APP, where, str(k)],
                           stdout=subprocess.PIPE, check=False)
        return p
    p = run(0, os.path.join(d, "count"))
    assert p.returncode == 0, p
    calls = int(p.stdout)
    assert calls >= 10, calls
    seen = set()
    for k in range(1, calls + 1):
        where = os.path.join(d, str(k))
        p = run(k, where)
        assert p.returncode == -signal.SIGKILL, (k, p.returncode)
        got, rnd = c.load_latest(where)
        assert rnd in (1, 2) and same(got, [np.full(300 + i, rnd * 100 + i, np.float32)
                                            for i in range(3)]), (k, rnd)
        rounds = [e["round"] for e in manifest(where)]
        assert rounds in ([1], [1, 2]), (k, rounds)
        link = c._ROUND_RE.match(os.readlink(os.path.join(where, c.LATEST)))
        assert int(link.group(1)) in rounds, (k, link)
        seen.add((tuple(rounds), int(link.group(1)), bool(temps(where))))
        c.save(where, 3, model(3))
        assert temps(where) == [], (k, temps(where))
    # The kills covered every stage: nothing committed (temp left or not), round 2 committed
    # with the link still on round 1, and the link swapped.
    stages = {((1,), 1, True), ((1, 2), 1, False), ((1, 2), 2, False)}
    assert stages <= seen, seen
    print(f"# {calls} kill points", file=sys.stderr)


@case
def kill_points_resave(d):
    """Saving the latest link's own round again (a later run restarts its rounds at 1), a kill
    before each file-system call: the link always names a committed round whose file matches
    its manifest entry (never the round while it is uncommitted), and the resume finds round 1,
    the old round 2 or the new one, whole."""
    old2 = [np.full(300 + i, 900 + i, np.float32) for i in range(3)]

    def run(k, where):
        c.save(where, 1, [np.full(300 + i, 100 + i, np.float32) for i in range(3)])
        c.save(where, 2, old2)
        return subprocess.run([sys.executable, "-B", "-c", STEPPER, APP, where, str(k)],
                              stdout=subprocess.PIPE, check=False)
    p = run(0, os.path.join(d, "count"))
    assert p.returncode == 0, p
    calls = int(p.stdout)
    seen = set()
    for k in range(1, calls + 1):
        where = os.path.join(d, str(k))
        p = run(k, where)
        assert p.returncode == -signal.SIGKILL, (k, p.returncode)
        entries = {e["round"]: e for e in manifest(where)}
        assert 1 in entries and set(entries) <= {1, 2}, (k, entries)
        link = int(c._ROUND_RE.match(os.readlink(os.path.join(where, c.LATEST))).group(1))
        assert link in entries, (k, link, sorted(entries))
        assert sha256(os.path.join(where, c.round_file(link))) == entries[link]["sha256"], (k, link)
        got, rnd = c.load_latest(where)
        want = {1: [[np.full(300 + i, 100 + i, np.float32) for i in range(3)]],
                2: [old2, [np.full(300 + i, 200 + i, np.float32) for i in range(3)]]}[rnd]
        assert any(same(got, w) for w in want), (k, rnd)
        seen.add((link, 2 in entries))
        c.save(where, 3, model(3))
        assert temps(where) == [], (k, temps(where))
    # Every stage: untouched, the link aside on round 1 while round 2 is uncommitted, and
    # round 2 committed again with the link back on it.
    assert {(2, True), (1, False)} <= seen, seen
    print(f"# {calls} kill points", file=sys.stderr)


@case
def retention(d):
    """keep=2 prunes like `fl-ckpt prune --keep 2`: the newest two stay, and the latest link's
    target and the highest round are never removed; the manifest entry goes first."""
    for rnd in (5, 10, 15):
        c.save(d, rnd, model(rnd))
    c.save(d, 20, model(20), keep=0)  # 0: no retention
    assert [e["round"] for e in manifest(d)] == [5, 10, 15, 20]
    c.save(d, 3, model(3), keep=2)  # a new run: 3 is the latest, 15 and 20 the newest two
    rounds = [e["round"] for e in manifest(d)]
    files = sorted(n for n in os.listdir(d) if n.startswith("checkpoint_round_"))
    assert rounds == [3, 15, 20], rounds
    assert files == [c.round_file(r) for r in (15, 20, 3)], files
    assert LOGS.has("keep 2", "removed round(s) 5, 10"), LOGS.lines
    c.save(d, 4, model(4), keep=1)  # the highest (20) and the latest (4) stay even at keep 1
    assert [e["round"] for e in manifest(d)] == [4, 20]


BAD_MANIFESTS = {
    "not JSON": b"{",
    "truncated": b'{\n  "version": 1,\n  "rounds": [\n    {\n      "round": 1,',
    "oversized": b" " * (c.MANIFEST_BYTES_MAX + 1),
    "version 2": b'{"version": 2, "rounds": []}',
    "unknown key": b'{"version": 1, "rounds": [], "x": 1}',
    "duplicate key": b'{"version": 1, "version": 1, "rounds": []}',
    "rounds not a list": b'{"version": 1, "rounds": {}}',
}


def entry(**kw):
    e = {"round": 1, "file": "checkpoint_round_1.npz", "size": 100, "sha256": "0" * 64,
         "arrays": 2, "time": "2026-01-02T03:04:05Z"}
    e.update(kw)
    return e


BAD_ENTRIES = {
    "path in file": entry(file="../checkpoint_round_1.npz"),
    "file of another round": entry(file="checkpoint_round_2.npz"),
    "round 0": entry(round=0, file="checkpoint_round_0.npz"),
    "huge size": entry(size=2**63),
    "size a string": entry(size="100"),
    "bool arrays": entry(arrays=True),
    "upper-case sha256": entry(sha256="A" * 64),
    "local time": entry(time="2026-01-02T03:04:05+01:00"),
    "metrics a string": entry(metrics={"loss": "low"}),
}


@case
def hostile_manifest(d):
    """Malformed, truncated, oversized and hostile manifests are refused with the reason;
    save then writes nothing, and resume falls back to the spec's link with a warning."""
    bad_entries = [(k, json.dumps({"version": 1, "rounds": [v]}).encode())
                   for k, v in BAD_ENTRIES.items()]
    for what, text in list(BAD_MANIFESTS.items()) + bad_entries:
        try:
            c.parse_manifest(text)
            raise AssertionError(f"{what}: accepted")
        except ValueError:
            pass
    second = entry(round=2, file="checkpoint_round_2.npz")
    for rounds in ([entry(), entry()], [second, entry()]):
        text = json.dumps({"version": 1, "rounds": rounds}).encode()
        try:
            c.parse_manifest(text)
            raise AssertionError("a round listed twice: accepted")
        except ValueError as e:
            assert "must ascend" in str(e) or "twice" in str(e), e
    c.save(d, 1, model(1))
    with open(os.path.join(d, c.MANIFEST), "wb") as f:
        f.write(b'{"version": 1, "rounds": [')
    before = sorted(os.listdir(d))
    try:
        c.save(d, 2, model(2))
        raise AssertionError("save wrote over a malformed manifest")
    except c.CheckpointError as e:
        assert "checkpoint_manifest.json" in str(e) and "remove it" in str(e), e
    assert sorted(os.listdir(d)) == before, os.listdir(d)
    got, rnd = c.load_latest(d)
    assert rnd == 1 and LOGS.has("WARNING", "not valid JSON", "as the spec's ServerApp does")


@case
def symlinks(d):
    """Symlinks planted for the lock or the manifest are refused, never followed."""
    os.makedirs(d)
    outside = os.path.join(d, "..", "outside")
    with open(outside, "wb") as f:
        f.write(b"keep")
    os.symlink(outside, os.path.join(d, c.LOCK))
    try:
        c.save(d, 1, model(1))
        raise AssertionError("a symlinked lock was used")
    except c.CheckpointError as e:
        assert ".fl-ckpt.lock is a symlink" in str(e), e
    os.remove(os.path.join(d, c.LOCK))
    os.symlink(outside, os.path.join(d, c.MANIFEST))
    try:
        c.save(d, 1, model(1))
        raise AssertionError("a symlinked manifest was read")
    except c.CheckpointError as e:
        assert "checkpoint_manifest.json" in str(e), e
    with open(outside, "rb") as f:
        assert f.read() == b"keep"
    assert not os.path.exists(os.path.join(d, "checkpoint_round_1.npz"))


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in CASES:
        print(f"usage: {sys.argv[0]} {{{','.join(CASES)}}} DIR", file=sys.stderr)
        return 2
    try:
        CASES[sys.argv[1]](sys.argv[2])
    except AssertionError as e:
        print(f"FAIL {sys.argv[1]}: {e}", file=sys.stderr)
        for line in LOGS.lines:
            print(f"# {line}", file=sys.stderr)
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
