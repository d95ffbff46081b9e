"""Checkpoint files of design 03 §4, committed by fl-ckpt's protocol (fl_ckpt.h, fl-ckpt(1)).

Layout: checkpoint_round_{N}.npz, checkpoint_latest.npz (a relative symlink to the latest
round file), checkpoint_latest.json (the spec's metadata) and checkpoint_manifest.json (one
entry per committed round: round, file, size, SHA-256, arrays, time, metrics). save() commits
in fl-ckpt's order, each step durable before the next, under the exclusive flock on
.fl-ckpt.lock that every fl-ckpt command takes:

  1. the round file: np.savez into a temp .fl-ckpt.<pid>.<random>.tmp (O_EXCL|O_NOFOLLOW),
     hashed with SHA-256 as it is written, fsync, rename, fsync of the directory;
  2. its manifest entry (temp, fsync, rename, fsync of the directory): the round is now
     committed; a round file without an entry is not, and is never resumed from;
  3. the latest link (a symlink to a temp name, renamed over the old link);
  4. checkpoint_latest.json.

A kill at any moment leaves the old state or the new one, plus at most a temp file that the
next save (or fl-ckpt command) removes. load_latest() resumes with `fl-ckpt latest --fallback`
semantics: the latest link's round when it is committed and its file matches the manifest,
else the highest committed round that does, round by round. Every name is opened under a
descriptor of the directory with O_NOFOLLOW: the directory is writable by the container.

Retention: save(keep=K) with K > 0 prunes as `fl-ckpt prune --keep K` does (the newest K
committed rounds stay, never the latest link's target nor the highest round; the manifest
entry goes first, then the file)."""

from __future__ import annotations  # the annotations below on Python 3.9 too

import errno
import fcntl
import hashlib
import io
import json
import logging
import math
import os
import re
import secrets
import stat
import time
from datetime import datetime, timezone

import numpy as np

LATEST = "checkpoint_latest.npz"
META = "checkpoint_latest.json"
MANIFEST = "checkpoint_manifest.json"
LOCK = ".fl-ckpt.lock"
TEMP_PREFIX = ".fl-ckpt."
MANIFEST_VERSION = 1
ROUND_MAX = 999999999
SIZE_MIN, SIZE_MAX = 22, 9007199254740991
ARRAYS_MAX = 1000000
MANIFEST_BYTES_MAX = 16 * 1024 * 1024

_ROUND_RE = re.compile(r"^checkpoint_round_([1-9][0-9]{0,8})\.npz$")
_MEMBER_RE = re.compile(r"^arr_(0|[1-9][0-9]*)$")
_TEMP_RE = re.compile(r"^\.fl-ckpt\.([0-9]+)\.[A-Za-z0-9_-]+\.tmp$")
# What a killed fl_manifest_save (fl_fs_write_atomic) leaves: ".checkpoint_manifest.json.XXXXXX".
_C_TEMP_RE = re.compile(r"^\.checkpoint_manifest\.json\.[A-Za-z0-9]{6}$")
_SHA_RE = re.compile(r"^[0-9a-f]{64}$")
_TIME_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?Z$")
_ENTRY_KEYS = ("round", "file", "size", "sha256", "arrays", "time")
# fl_manifest.h: at most 32 metrics a round, names of 1-64 bytes of [A-Za-z0-9_.-].
METRICS_MAX = 32
_METRIC_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")

log = logging.getLogger("flwr")


class CheckpointError(Exception):
    """A checkpoint directory this module will not write to or resume from; says why and
    what to do."""


def round_file(server_round: int) -> str:
    return f"checkpoint_round_{server_round}.npz"


def should_save(server_round: int, interval: int, total_rounds: int) -> bool:
    """Never round 0 (the initial model), every `interval` rounds, and always the last."""
    return server_round != 0 and (
        server_round == total_rounds or (interval > 0 and server_round % interval == 0)
    )


# --- the directory, its lock and its temp files ---------------------------------------------


def _open_dir(path: str) -> int:
    return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)


def _lock(dfd: int, path: str, timeout: float) -> int:
    """The exclusive flock on .fl-ckpt.lock (created 0644), waiting at most timeout seconds
    for an fl-ckpt command (or another saver) to finish."""
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY
    try:
        fd = os.open(LOCK, flags, 0o644, dir_fd=dfd)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise CheckpointError(f"{path}/{LOCK} is a symlink; remove it and try again") from e
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise CheckpointError(f"{path}/{LOCK} is not a regular file; remove it and try again")
    deadline = time.monotonic() + timeout
    said = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            pass
        if not said:
            log.info("waiting for another fl-ckpt to release %s/%s (at most %.0f s)",
                     path, LOCK, timeout)
            said = True
        if time.monotonic() >= deadline:
            os.close(fd)
            raise CheckpointError(
                f"another fl-ckpt held {path}/{LOCK} for {timeout:.0f} s: gave up waiting; "
                f"check for a hung fl-ckpt (fuser -v {path}/{LOCK})")
        time.sleep(0.05)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _clean_temps(dfd: int) -> list[str]:
    """Remove the temp files of dead writers (only under the lock); their names."""
    gone = []
    for name in os.listdir(dfd):
        m = _TEMP_RE.match(name)
        if not ((m and not _pid_alive(int(m.group(1)))) or _C_TEMP_RE.match(name)):
            continue
        try:
            st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
            if stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode):
                os.unlink(name, dir_fd=dfd)
                gone.append(name)
        except FileNotFoundError:
            pass
    return gone


def _temp_name() -> str:
    return f"{TEMP_PREFIX}{os.getpid()}.{secrets.token_hex(8)}.tmp"


class _HashingWriter(io.RawIOBase):
    """The file-like object np.savez writes to: the bytes go to fd and through SHA-256 in
    the same pass. zipfile rewrites each member's local header once the member's data is
    written (seek back, write, seek to the end), so the bytes from the current member's
    start are held until the writer returns to the end of the file; everything before that
    is final and hashed. Memory: one member, never the whole file."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self.fd = fd
        self.sha = hashlib.sha256()
        self.hashed = 0  # bytes [0, hashed) are final and hashed
        self.pending = bytearray()  # bytes [hashed, end)
        self.pos = 0
        self.rewound = False  # a write landed before `hashed`: hash by reading back

    def readable(self) -> bool:
        return False

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def read(self, size=-1):  # numpy's zipfile_factory looks for it; zipfile never calls it
        raise io.UnsupportedOperation("read")

    def tell(self) -> int:
        return self.pos

    def _end(self) -> int:
        return self.hashed + len(self.pending)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self._end()}[whence]
        self.pos = base + offset
        if self.pos == self._end() and self.pending:
            # Back at the end after a rewrite: what precedes is final.
            self.sha.update(self.pending)
            self.hashed += len(self.pending)
            self.pending = bytearray()
        return self.pos

    def write(self, b) -> int:
        data = bytes(b)
        n = len(data)
        if self.pos < self.hashed:
            self.rewound = True
        else:
            at = self.pos - self.hashed
            if at > len(self.pending):
                self.pending.extend(b"\0" * (at - len(self.pending)))
            self.pending[at:at + n] = data
        done = 0
        while done < n:
            done += os.pwrite(self.fd, data[done:], self.pos + done)
        self.pos += n
        return n

    def digest(self) -> tuple[str, int]:
        """(SHA-256 hex, size) of what was written."""
        size = self._end()
        if not self.rewound:
            sha = self.sha.copy()
            sha.update(self.pending)
            return sha.hexdigest(), size
        sha = hashlib.sha256()  # a writer that went back further than zipfile does
        off = 0
        while off < size:
            chunk = os.pread(self.fd, min(1 << 20, size - off), off)
            if not chunk:
                break
            sha.update(chunk)
            off += len(chunk)
        return sha.hexdigest(), size


def _fsync_dir(dfd: int) -> None:
    os.fsync(dfd)


def _write_temp(dfd: int, write) -> tuple[str, str, int]:
    """A new temp file (0644) filled by write(f), fsynced: (name, sha256, size)."""
    name = _temp_name()
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(name, flags, 0o644, dir_fd=dfd)
    try:
        w = _HashingWriter(fd)
        write(w)
        sha, size = w.digest()
        os.fchmod(fd, 0o644)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        os.unlink(name, dir_fd=dfd)
        raise
    os.close(fd)
    return name, sha, size


def _replace(dfd: int, write, final: str) -> tuple[str, int]:
    """final replaced by what write(f) writes: temp, fsync, rename, fsync of the directory."""
    tmp, sha, size = _write_temp(dfd, write)
    try:
        os.replace(tmp, final, src_dir_fd=dfd, dst_dir_fd=dfd)
    except BaseException:
        os.unlink(tmp, dir_fd=dfd)
        raise
    _fsync_dir(dfd)
    return sha, size


def _symlink_atomic(dfd: int, name: str, target: str) -> None:
    # rename() over the old link also replaces a regular file, where the spec's
    # unlink + symlink raised FileExistsError and left a window with no link at all.
    tmp = _temp_name()
    os.symlink(target, tmp, dir_fd=dfd)
    try:
        os.replace(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
    except BaseException:
        os.unlink(tmp, dir_fd=dfd)
        raise


# --- the manifest (fl_manifest.h: same keys, order, bounds and bytes) ------------------------


def _real(v: float) -> str:
    """v as jansson's json_dumps writes a real (%.17g, '.0' added, exponent without '+' and
    leading zeros), so that fl-ckpt rewriting the manifest leaves its bytes unchanged."""
    s = "%.17g" % v
    if "." not in s and "e" not in s:
        s += ".0"
    m = re.match(r"^(.*e)([+-]?)0*([0-9]+)$", s)
    if m:
        s = m.group(1) + ("-" if m.group(2) == "-" else "") + m.group(3)
    return s


def format_manifest(entries: list[dict]) -> bytes:
    """The manifest text: 2-space indent, keys in fl_manifest_format's order, rounds
    ascending, a final newline."""
    out = ['{\n  "version": %d,\n  "rounds": ' % MANIFEST_VERSION]
    if not entries:
        out.append("[]")
    else:
        items = []
        for e in sorted(entries, key=lambda x: x["round"]):
            fields = [f'      {json.dumps(k)}: {json.dumps(e[k])}' for k in _ENTRY_KEYS]
            if e.get("metrics"):
                ms = ",\n".join(f"        {json.dumps(k)}: {_real(float(v))}"
                                for k, v in sorted(e["metrics"].items()))
                fields.append('      "metrics": {\n' + ms + "\n      }")
            items.append("    {\n" + ",\n".join(fields) + "\n    }")
        out.append("[\n" + ",\n".join(items) + "\n  ]")
    out.append("\n}\n")
    return "".join(out).encode("ascii")


def _check_entry(i: int, e) -> dict:
    where = f"rounds[{i}]"
    if not isinstance(e, dict):
        raise ValueError(f"{where} is not an object")
    for k in e:
        if k not in _ENTRY_KEYS and k != "metrics":
            raise ValueError(f"{where} has an unknown key {k!r}")
    for k in _ENTRY_KEYS:
        if k not in e:
            raise ValueError(f'{where} has no "{k}"')
    for k, lo, hi in (("round", 1, ROUND_MAX), ("size", SIZE_MIN, SIZE_MAX),
                      ("arrays", 0, ARRAYS_MAX)):
        v = e[k]
        if type(v) is not int:
            raise ValueError(f"{where}.{k} is not an integer")
        if not lo <= v <= hi:
            raise ValueError(f"{where}.{k} {v} is out of range ({lo}-{hi})")
    if e["file"] != round_file(e["round"]):
        raise ValueError(f"{where}.file {e['file']!r} is not {round_file(e['round'])}")
    if not isinstance(e["sha256"], str) or not _SHA_RE.match(e["sha256"]):
        raise ValueError(f"{where}.sha256 is not 64 lowercase hex digits")
    if not isinstance(e["time"], str) or not _TIME_RE.match(e["time"]):
        raise ValueError(f"{where}.time is not RFC 3339 UTC (YYYY-MM-DDTHH:MM:SS[.frac]Z)")
    metrics = e.get("metrics", {})
    if not isinstance(metrics, dict) or len(metrics) > METRICS_MAX:
        raise ValueError(f"{where}.metrics is not an object of at most {METRICS_MAX} metrics")
    for k, v in metrics.items():
        if not _METRIC_RE.match(k):
            raise ValueError(f"{where}.metrics: name {k[:64]!r} is not 1-64 of [A-Za-z0-9_.-]")
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
            raise ValueError(f"{where}.metrics.{k} is not a finite number")
    return e


def parse_manifest(text: bytes) -> list[dict]:
    """The entries of a manifest text, checked as fl_manifest_parse checks them; ValueError
    saying what is wrong otherwise."""
    if len(text) > MANIFEST_BYTES_MAX:
        raise ValueError(f"{len(text)} bytes are more than the {MANIFEST_BYTES_MAX} a manifest "
                         "may have")

    def no_dups(pairs):
        keys = [k for k, _ in pairs]
        if len(set(keys)) != len(keys):
            raise ValueError("a key is listed twice")
        return dict(pairs)

    try:
        root = json.loads(text.decode("utf-8"), object_pairs_hook=no_dups)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"not valid JSON: {e}") from e
    if not isinstance(root, dict) or set(root) - {"version", "rounds"}:
        raise ValueError("not a manifest object with only \"version\" and \"rounds\"")
    if root.get("version") != MANIFEST_VERSION or type(root.get("version")) is not int:
        raise ValueError(f"version {root.get('version')!r} is not supported (this saver reads "
                         f"version {MANIFEST_VERSION})")
    rounds = root.get("rounds")
    if not isinstance(rounds, list):
        raise ValueError('"rounds" is missing or not an array')
    entries = [_check_entry(i, e) for i, e in enumerate(rounds)]
    for a, b in zip(entries, entries[1:]):
        if b["round"] <= a["round"]:
            raise ValueError(f"round {b['round']} comes after round {a['round']}; rounds must "
                             "ascend, each once")
    return entries


def _read_manifest(dfd: int, path: str) -> list[dict] | None:
    """The manifest's entries; None when there is none. CheckpointError when it is not a
    regular file or is malformed."""
    try:
        fd = os.open(MANIFEST, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK,
                     dir_fd=dfd)
    except FileNotFoundError:
        return None
    except OSError as e:
        raise CheckpointError(f"{path}/{MANIFEST}: {e.strerror}; remove it (every round then "
                              "counts as uncommitted)") from e
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise CheckpointError(f"{path}/{MANIFEST} is not a regular file; remove it")
        text = f.read(MANIFEST_BYTES_MAX + 1)
    try:
        return parse_manifest(text)
    except ValueError as e:
        raise CheckpointError(
            f"{path}/{MANIFEST}: {e}; restore it from an archive or remove it (fl-ckpt then "
            "treats every round as uncommitted)") from e


def _write_manifest(dfd: int, entries: list[dict]) -> None:
    text = format_manifest(entries)
    _replace(dfd, lambda f: f.write(text), MANIFEST)


# --- save ------------------------------------------------------------------------------------


def _utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _metrics_of(metrics) -> dict:
    """The metrics a manifest entry can hold, sorted by name: finite numbers (JSON has no
    NaN) under names fl-ckpt accepts, at most METRICS_MAX; the others are left out, saying
    so (a checkpoint is not lost for a metric)."""
    out = {}
    for k, v in sorted((metrics or {}).items()):
        ok = isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
        if not (ok and math.isfinite(float(v)) and _METRIC_RE.match(str(k))):
            log.warning("metric %r=%r is not kept in the manifest: names are 1-64 of "
                        "[A-Za-z0-9_.-], values finite numbers", k, v)
        elif len(out) == METRICS_MAX:
            log.warning("metric %r is not kept in the manifest: at most %d a round", k,
                        METRICS_MAX)
        else:
            out[str(k)] = float(v)
    return out


def _latest_round(dfd: int) -> int | None:
    try:
        m = _ROUND_RE.match(os.readlink(LATEST, dir_fd=dfd))
    except OSError:
        return None
    return int(m.group(1)) if m else None


def _prune(dfd: int, path: str, entries: list[dict], keep: int) -> list[int]:
    """`fl-ckpt prune --keep keep`: committed rounds beyond the newest `keep` go, except the
    latest link's target and the highest round; each manifest entry before its file."""
    rounds = sorted(e["round"] for e in entries)
    spare = {_latest_round(dfd), rounds[-1] if rounds else None}
    doomed = [r for r in rounds[:-keep] if r not in spare] if len(rounds) > keep else []
    if not doomed:
        return []
    left = [e for e in entries if e["round"] not in doomed]
    _write_manifest(dfd, left)
    for r in doomed:
        try:
            os.unlink(round_file(r), dir_fd=dfd)
        except FileNotFoundError:
            pass
    _fsync_dir(dfd)
    log.info("checkpoint retention (keep %d): removed round(s) %s from %s", keep,
             ", ".join(map(str, doomed)), path)
    entries[:] = left
    return doomed


def save(path: str, server_round: int, ndarrays, metrics=None, keep: int = 0,
         lock_timeout: float = 600.0, now=None) -> tuple[str, int]:
    """Commit round `server_round` (its arrays, and metrics {name: number} into its manifest
    entry); returns (file path, size in bytes). keep > 0 prunes to the newest keep rounds.
    now() gives the manifest time (tests)."""
    if not 1 <= server_round <= ROUND_MAX:
        raise CheckpointError(f"round {server_round} is out of range; rounds are 1-{ROUND_MAX}")
    os.makedirs(path, exist_ok=True)
    dfd = _open_dir(path)
    try:
        lfd = _lock(dfd, path, lock_timeout)
        try:
            return _commit(dfd, path, server_round, ndarrays, metrics, keep, now or _utc_now)
        finally:
            os.close(lfd)
    finally:
        os.close(dfd)


def _write_meta(dfd: int, rnd: int, arrays: int) -> None:
    """checkpoint_latest.json as the spec's saver writes it."""
    meta = {
        "round": rnd,
        "timestamp": datetime.now(timezone.utc).isoformat(),
        "num_arrays": arrays,
    }
    text = json.dumps(meta, indent=2).encode() + b"\n"
    _replace(dfd, lambda f: f.write(text), META)


def _uncommit(dfd: int, entries: list[dict], rnd: int) -> list[dict]:
    """A committed round about to be replaced loses its manifest entry first, and the latest
    link steps aside from it while it is uncommitted (to the newest other committed round
    whose file is there, or away with the metadata): a kill in between never leaves an entry
    whose SHA-256 disagrees with the file, nor the link on an uncommitted file. fl-ckpt's
    commit does the same (fl_ckpt_commit.c); step 3 of the commit links the round back."""
    rest = [e for e in entries if e["round"] != rnd]
    if _latest_round(dfd) == rnd:
        there = [e for e in rest if _is_file(dfd, e["file"])]
        if there:
            _symlink_atomic(dfd, LATEST, there[-1]["file"])
            _fsync_dir(dfd)
            _write_meta(dfd, there[-1]["round"], there[-1]["arrays"])
        else:
            for n in (LATEST, META):
                try:
                    os.unlink(n, dir_fd=dfd)
                except FileNotFoundError:
                    pass
            _fsync_dir(dfd)
    _write_manifest(dfd, rest)
    return rest


def _is_file(dfd: int, name: str) -> bool:
    try:
        return stat.S_ISREG(os.lstat(name, dir_fd=dfd).st_mode)
    except OSError:
        return False


def _commit(dfd, path, server_round, ndarrays, metrics, keep, now) -> tuple[str, int]:
    for name in _clean_temps(dfd):
        log.info("removed %s/%s, left by a killed checkpoint writer", path, name)
    entries = _read_manifest(dfd, path) or []
    name = round_file(server_round)
    # 1. The round file: a temp, then (a committed round uncommitted first) the rename.
    tmp, sha, size = _write_temp(dfd, lambda f: np.savez(f, *ndarrays))
    try:
        if any(e["round"] == server_round for e in entries):
            entries = _uncommit(dfd, entries, server_round)
        os.replace(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
    except BaseException:
        os.unlink(tmp, dir_fd=dfd)
        raise
    _fsync_dir(dfd)
    # 2. Its manifest entry: from here on the round is committed.
    entry = {"round": server_round, "file": name, "size": size, "sha256": sha,
             "arrays": len(ndarrays), "time": now()}
    ms = _metrics_of(metrics)
    if ms:
        entry["metrics"] = ms
    entries = [e for e in entries if e["round"] != server_round] + [entry]
    entries.sort(key=lambda e: e["round"])
    _write_manifest(dfd, entries)
    # 3. The latest link, 4. the spec's metadata.
    _symlink_atomic(dfd, LATEST, name)
    _write_meta(dfd, server_round, len(ndarrays))
    if keep > 0:
        _prune(dfd, path, entries, keep)
    return os.path.join(path, name), size


# --- resume ----------------------------------------------------------------------------------


def _arrays(z, where: str) -> list:
    """The members of an np.savez file in numeric order: the spec's sorted(files) put arr_10
    before arr_2 once a model had 11 or more arrays."""
    idx = []
    for k in z.files:
        m = _MEMBER_RE.match(k)
        if not m:
            raise ValueError(f"{where}: member {k!r} is not arr_<N>; not a np.savez file")
        idx.append((int(m.group(1)), k))
    idx.sort()
    if [i for i, _ in idx] != list(range(len(idx))):
        raise ValueError(f"{where}: members {z.files} are not arr_0..arr_{len(idx) - 1}")
    return [z[k] for _, k in idx]


def _read_round(dfd: int, path: str, e: dict) -> list:
    """The arrays of a committed round whose file matches its entry; ValueError saying what
    does not."""
    where = f"{path}/{e['file']}"
    try:
        fd = os.open(e["file"], os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK,
                     dir_fd=dfd)
    except OSError as err:
        raise ValueError(f"{where}: {err.strerror}") from err
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise ValueError(f"{where} is not a regular file")
        if st.st_size != e["size"]:
            raise ValueError(f"{where}: {st.st_size} bytes, the manifest says {e['size']}")
        data = f.read(e["size"] + 1)
    sha = hashlib.sha256(data).hexdigest()
    if len(data) != e["size"] or sha != e["sha256"]:
        raise ValueError(f"{where}: SHA-256 {sha} is not the manifest's {e['sha256']}")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            arrays = _arrays(z, where)
    except ValueError:
        raise
    except Exception as err:  # zipfile.BadZipFile, OSError, EOFError from a damaged file
        raise ValueError(f"{where}: numpy cannot load it: {err}") from err
    if len(arrays) != e["arrays"]:
        raise ValueError(f"{where}: {len(arrays)} arrays, the manifest says {e['arrays']}")
    return arrays


def _load_spec(dfd: int, path: str):
    """The spec's resume: np.load of the latest link (a dangling link counts as none)."""
    try:
        fd = os.open(LATEST, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK, dir_fd=dfd)
    except OSError:
        return None
    target = None
    try:
        target = os.readlink(LATEST, dir_fd=dfd)
    except OSError:
        pass
    with os.fdopen(fd, "rb") as f:
        with np.load(f, allow_pickle=False) as z:
            arrays = _arrays(z, f"{path}/{LATEST}")
    m = _ROUND_RE.match(target) if target else None
    rnd = int(m.group(1)) if m else 0
    if not m:
        try:
            with open(os.path.join(path, META), encoding="utf-8") as f:
                rnd = int(json.load(f).get("round", 0))
        except (OSError, ValueError, TypeError, AttributeError):
            rnd = 0
    return arrays, rnd


def load_latest(path: str):
    """(ndarrays, round) to resume from, or None when there is none: the latest link's round
    when committed and its file matches the manifest (size, SHA-256, arrays) and loads, else
    the highest committed round that does (`fl-ckpt latest --fallback`). Without a manifest
    (a directory of the spec's saver) the spec's latest link, with a warning."""
    try:
        dfd = _open_dir(path)
    except FileNotFoundError:
        return None
    try:
        try:
            entries = _read_manifest(dfd, path)
        except CheckpointError as e:
            log.warning("%s; resuming as the spec's ServerApp does, from %s", e, LATEST)
            return _load_spec(dfd, path)
        if entries is None:
            found = _load_spec(dfd, path)
            if found is not None:
                log.warning("%s has no %s (not written by fl-ckpt's protocol): resuming from %s "
                            "unverified", path, MANIFEST, LATEST)
            return found
        return _fallback(dfd, path, entries)
    finally:
        os.close(dfd)


def _fallback(dfd: int, path: str, entries: list[dict]):
    by_round = {e["round"]: e for e in entries}
    latest = _latest_round(dfd)
    order = sorted(by_round, reverse=True)
    if latest in by_round:
        order.remove(latest)
        order.insert(0, latest)
    elif latest is not None:
        log.warning("round %d: %s points to %s, which has no manifest entry (uncommitted): "
                    "skipped", latest, LATEST, round_file(latest))
    for name in sorted(os.listdir(dfd)):
        m = _ROUND_RE.match(name)
        if m and int(m.group(1)) not in by_round and int(m.group(1)) != latest:
            log.warning("round %s: %s/%s has no manifest entry (uncommitted): skipped",
                        m.group(1), path, name)
    for rnd in order:
        try:
            arrays = _read_round(dfd, path, by_round[rnd])
        except ValueError as e:
            log.warning("round %d: %s: skipped", rnd, e)
            continue
        why = "the latest link's target" if rnd == latest else "the newest committed round " \
              "that verifies"
        log.info("checkpoint: resuming from round %d of %s (%s)", rnd, path, why)
        return arrays, rnd
    if order:
        log.warning("no committed round of %s verifies (%d tried); starting fresh", path,
                    len(order))
    return None
