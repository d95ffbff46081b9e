#!/usr/bin/env python3
"""Write a checkpoint-like .npz of random float32 with numpy's own np.savez, for the crash suite
(test/fl-ckpt-crash.bats) and the bench (bench/ckpt.sh). Big files are made at run time, never
committed.

    make-npz.py OUT SIZE_MIB [--arrays K] [--seed S]

SIZE_MIB (a decimal number) is the float32 payload, split into K arrays (default: one per
64 MiB, at least 4), so the file is SIZE_MIB MiB plus numpy's headers and the zip directory.
"""
import argparse
import math
import os
import sys

import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("size_mib", type=float)
    ap.add_argument("--arrays", type=int, default=0)
    ap.add_argument("--seed", type=int, default=11)
    a = ap.parse_args()
    if a.size_mib <= 0 or a.arrays < 0:
        sys.exit("make-npz.py: SIZE_MIB must be above 0 and --arrays at least 0")
    total = int(a.size_mib * 1024 * 1024) // 4
    k = a.arrays or max(4, math.ceil(a.size_mib / 64))
    k = min(k, max(1, total))
    rng = np.random.default_rng(a.seed)
    sizes = [total // k + (1 if i < total % k else 0) for i in range(k)]
    arrays = [rng.random(n, dtype=np.float32) for n in sizes]
    tmp = a.out + ".part"
    with open(tmp, "wb") as f:
        np.savez(f, *arrays)
    os.replace(tmp, a.out)


if __name__ == "__main__":
    main()
