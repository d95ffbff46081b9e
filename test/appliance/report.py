#!/usr/bin/env python3
"""report.py WORKDIR: the boot harness's numbers, from WORKDIR/boots.tsv (VM, boot, power-on
epoch), WORKDIR/requests.json (the OneGate emulator's request log, each with its time `t`
and the VM it came from) and WORKDIR/events*.jsonl (the runs' JSON events). Prints
VM<ID>_B<N>_FL_READY_S, _READY_S, _FL_ERROR_S (seconds from power-on), _REQUESTS_BOOT
(OneGate requests up to READY=YES) and _REQUESTS (until the next power-on or the end:
re-discovery and elasticity publishing too) for each boot, and FIRST_ROUND_S (the first run's
first round, from the SuperLink's last power-on before it), as KEY=VALUE lines; writes
report.txt."""
import datetime
import glob
import json
import os
import sys
import urllib.parse


def attrs(entry):
    """The attributes a PUT /vm request sets: form `data=` or the raw body, one per line."""
    body = entry.get("body") or ""
    if "x-www-form-urlencoded" in (entry.get("content_type") or ""):
        q = urllib.parse.parse_qs(body)
        if "type" in q and q["type"][0] == "2":
            return {}
        body = q.get("data", [""])[0]
    out = {}
    for line in body.replace("\\n", "\n").splitlines():
        k, eq, v = line.partition("=")
        if eq:
            out[k.strip()] = v.strip().strip('"')
    return out


def ts(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def main():
    w = sys.argv[1]
    boots = []
    with open(os.path.join(w, "boots.tsv"), encoding="utf-8") as f:
        for line in f:
            vm, n, t = line.split()
            boots.append((vm, int(n), float(t)))
    try:
        with open(os.path.join(w, "requests.json"), encoding="utf-8") as f:
            reqs = json.load(f)
    except (OSError, ValueError):
        reqs = []
    roles = {}
    with open(os.path.join(w, "vms.tsv"), encoding="utf-8") as f:
        for line in f:
            p = line.split("\t")
            roles[p[0]] = p[1]
    lines, rows = [], []
    for vm, n, t0 in boots:
        later = [t for v, _, t in boots if v == vm and t > t0]
        t1 = min(later) if later else float("inf")
        mine = [r for r in reqs if r.get("vmid") == vm and t0 <= r.get("t", 0) < t1]
        fl_ready = ready = failed = None
        ready_var = "FL_READY" if roles.get(vm) == "superlink" else "FL_NODE_READY"
        for r in mine:
            if r.get("method") != "PUT" or r.get("status", 200) != 200:
                continue
            a = attrs(r)
            if fl_ready is None and a.get(ready_var) == "YES":
                fl_ready = r["t"] - t0
            if ready is None and a.get("READY") == "YES":
                ready = r["t"] - t0
            if failed is None and a.get("FL_ERROR"):
                failed = r["t"] - t0
        def fmt(x):
            return "" if x is None else "%.1f" % x
        # The boot's own requests: up to READY=YES (or, without one, up to its last FL_* write).
        until = t0 + ready if ready is not None else None
        booting = [r for r in mine if until is None or r["t"] <= until]
        lines += ["VM%s_B%d_FL_READY_S=%s" % (vm, n, fmt(fl_ready)), "VM%s_B%d_READY_S=%s" % (vm, n, fmt(ready)),
                  "VM%s_B%d_FL_ERROR_S=%s" % (vm, n, fmt(failed)),
                  "VM%s_B%d_REQUESTS_BOOT=%d" % (vm, n, len(booting)), "VM%s_B%d_REQUESTS=%d" % (vm, n, len(mine))]
        rows.append("%-5s %-9s boot %d   %-14s %-10s %-13s %-14d %d" % (
            vm, roles.get(vm, "?"), n, fmt(fl_ready) or "-", fmt(ready) or "-", fmt(failed) or "-", len(booting),
            len(mine)))
    # The first run's first round, from the SuperLink's last power-on before it.
    first = ""
    sl = sorted(t for v, _, t in boots if roles.get(v) == "superlink")
    for path in sorted(glob.glob(os.path.join(w, "events*.jsonl")))[:1]:
        with open(path, encoding="utf-8") as f:
            for line in f:
                try:
                    e = json.loads(line)
                except ValueError:
                    continue
                on = [t for t in sl if t <= ts(e.get("timestamp", "1970-01-01T00:00:00Z"))]
                if e.get("event") == "round_start" and on:
                    first = "%.1f" % (ts(e["timestamp"]) - on[-1])
                    break
    lines.append("FIRST_ROUND_S=%s" % first)
    with open(os.path.join(w, "report.txt"), "w", encoding="utf-8") as f:
        f.write("VM    role      boot     FL_READY (s)   READY (s)  FL_ERROR (s)  requests: boot  in all\n")
        f.write("\n".join(rows) + "\n")
        f.write("first round %s s after the SuperLink's power-on\n" % (first or "-"))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
