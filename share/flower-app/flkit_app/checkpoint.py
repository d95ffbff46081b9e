"""Checkpoint files of design 03 §4: checkpoint_round_{N}.npz, checkpoint_latest.npz (a
relative symlink to the newest round file) and checkpoint_latest.json, each replaced
atomically (temp file in the same directory, fsync, rename, fsync of the directory)."""

import json
import os
import re
import tempfile
import uuid
from datetime import datetime, timezone

import numpy as np

LATEST = "checkpoint_latest.npz"
META = "checkpoint_latest.json"
_ROUND_RE = re.compile(r"^checkpoint_round_([0-9]+)\.npz$")
_MEMBER_RE = re.compile(r"^arr_([0-9]+)$")


def round_file(server_round: int) -> str:
    return f"checkpoint_round_{server_round}.npz"


def should_save(server_round: int, interval: int, total_rounds: int) -> bool:
    """Never round 0 (the initial model), every `interval` rounds, and always the last."""
    return server_round != 0 and (
        server_round == total_rounds or (interval > 0 and server_round % interval == 0)
    )


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomic(dirpath: str, name: str, write, mode: int = 0o644) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=dirpath)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fchmod(f.fileno(), mode)
            os.fsync(f.fileno())
        os.replace(tmp, os.path.join(dirpath, name))
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _symlink_atomic(dirpath: str, name: str, target: str) -> None:
    # rename() over the old link also replaces a regular file, where the spec's
    # unlink + symlink raised FileExistsError and left a window with no link at all.
    tmp = os.path.join(dirpath, f".{name}.{uuid.uuid4().hex}.tmp")
    os.symlink(target, tmp)
    try:
        os.replace(tmp, os.path.join(dirpath, name))
    except BaseException:
        os.unlink(tmp)
        raise


def save(path: str, server_round: int, ndarrays) -> tuple[str, int]:
    """Write round `server_round`; returns (file path, size in bytes)."""
    os.makedirs(path, exist_ok=True)
    name = round_file(server_round)
    _write_atomic(path, name, lambda f: np.savez(f, *ndarrays))
    _fsync_dir(path)  # the round file is durable before anything points at it
    meta = {
        "round": server_round,
        "timestamp": datetime.now(timezone.utc).isoformat(),
        "num_arrays": len(ndarrays),
    }
    _write_atomic(path, META, lambda f: f.write(json.dumps(meta, indent=2).encode() + b"\n"))
    _symlink_atomic(path, LATEST, name)
    _fsync_dir(path)
    full = os.path.join(path, name)
    return full, os.path.getsize(full)


def load_latest(path: str):
    """(ndarrays, round) of checkpoint_latest.npz, or None when there is none (a dangling
    link counts as none). Members are ordered by their numeric suffix: the spec's
    sorted(files) put arr_10 before arr_2 once a model had 11 or more arrays."""
    latest = os.path.join(path, LATEST)
    if not os.path.exists(latest):
        return None
    with np.load(latest, allow_pickle=False) as z:
        idx = []
        for k in z.files:
            m = _MEMBER_RE.match(k)
            if not m:
                raise ValueError(f"{latest}: member {k!r} is not arr_<N>; not a np.savez file")
            idx.append((int(m.group(1)), k))
        idx.sort()
        if [i for i, _ in idx] != list(range(len(idx))):
            raise ValueError(f"{latest}: members {z.files} are not arr_0..arr_{len(idx) - 1}")
        arrays = [z[k] for _, k in idx]
    # The link target names the round; the JSON may lag it after a crash between the two.
    rnd = 0
    m = _ROUND_RE.match(os.readlink(latest)) if os.path.islink(latest) else None
    if m:
        rnd = int(m.group(1))
    else:
        try:
            with open(os.path.join(path, META), encoding="utf-8") as f:
                rnd = int(json.load(f).get("round", 0))
        except (OSError, ValueError, TypeError):
            rnd = 0
    return arrays, rnd
