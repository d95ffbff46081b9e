#!/usr/bin/env python3
"""footprint.py PID SECONDS: the resident memory and CPU of process PID and all its
descendants (a SuperNode and the ClientApps it starts), sampled every 0.2 s for SECONDS
(0: until SIGTERM). Prints one line: peak total RSS in MiB, CPU in % of one core over the
whole window (utime + stime of every process, children that ended included through the
root's cutime/cstime), peak number of processes. Linux /proc only."""
import os
import signal
import sys
import time

TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def stat(pid):
    with open(f"/proc/{pid}/stat") as f:
        s = f.read()
    fields = s[s.rindex(")") + 2:].split()
    # fields[0] is field 3 (state): ppid 4, utime 14, stime 15, cutime 16, cstime 17, rss 24
    return int(fields[1]), [int(x) for x in fields[11:15]], int(fields[21])


def tree(root):
    kids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                ppid, _, _ = stat(d)
            except (OSError, ValueError):
                continue
            kids.setdefault(ppid, []).append(int(d))
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def sample(root):
    """CPU ticks of the tree (the root's reaped children included), RSS bytes, processes."""
    ticks = rss = n = 0
    for p in tree(root):
        try:
            _, t, r = stat(p)
        except (OSError, ValueError):
            continue
        ticks += t[0] + t[1] + (t[2] + t[3] if p == root else 0)
        rss += r * PAGE
        n += 1
    return ticks, rss, n


def main():
    root, secs = int(sys.argv[1]), float(sys.argv[2])
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    t0 = time.monotonic()
    c0, peak, procs = 0, 0, 0
    c0, rss, n = sample(root)
    c1 = c0
    while not stop and (secs == 0 or time.monotonic() - t0 < secs):
        try:
            c1, rss, n = sample(root)
        except OSError:
            break
        peak, procs = max(peak, rss), max(procs, n)
        time.sleep(0.2)
    wall = time.monotonic() - t0
    print(f"{peak / 2**20:.0f} {100 * (c1 - c0) / TICK / wall:.1f} {procs}")


if __name__ == "__main__":
    main()
