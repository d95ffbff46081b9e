"""The metric names PromQL expressions use, checked against what is exported.

promql_names.py --extract EXPR...
    print the metric names each EXPR uses, one line per EXPR, space-separated.
promql_names.py EXPOSITION FILE...
    EXPOSITION: a Prometheus text exposition (its # TYPE lines name the families; a histogram
    stands for its _bucket, _sum and _count series, never its bare name) plus DCGM's 8 gauges.
    FILE: Prometheus rule files (.yml, .yaml: every groups[].rules[].expr), promtool rule
    test files (every tests[].input_series[].series: the tests use real names; not the
    promql_expr_test expressions, which show the spec's wrong ones) and Grafana dashboards
    (.json: every panels[].targets[].expr, rows included). Prints each expression
    that names an unknown metric and exits 1; exits 2 when a file holds no expression.
"""
import json
import re
import sys

import yaml

DCGM = {
    "DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_MEM_COPY_UTIL", "DCGM_FI_DEV_FB_FREE",
    "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_GPU_TEMP", "DCGM_FI_DEV_POWER_USAGE",
    "DCGM_FI_DEV_XID_ERRORS", "DCGM_FI_DEV_SM_CLOCK",
}
# Words that are not metric names where they stand without a following "(": binary and set
# operators, modifiers, aggregations (sum by (x) (...)), number literals.
KEYWORDS = {
    "and", "or", "unless", "atan2", "by", "without", "on", "ignoring", "group_left",
    "group_right", "offset", "bool", "inf", "nan", "sum", "min", "max", "avg", "group",
    "stddev", "stdvar", "count", "count_values", "bottomk", "topk", "quantile",
}
STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
NAME_MATCHER = re.compile(r'__name__\s*=\s*("(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\')')
LABEL_LIST = re.compile(r'\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)')
IDENT = re.compile(r'(?<![\w:.])([A-Za-z_:][\w:]*)(\s*\()?')


def names(expr):
    found = [m.group(1)[1:-1] for m in NAME_MATCHER.finditer(expr)]
    s = STRING.sub('""', expr)
    s = re.sub(r'#[^\n]*', ' ', s)
    s = re.sub(r'\{[^}]*\}', ' ', s)
    s = re.sub(r'\[[^\]]*\]', ' ', s)
    s = LABEL_LIST.sub(' ', s)
    for m in IDENT.finditer(s):
        word, call = m.group(1), m.group(2)
        if call or word.lower() in KEYWORDS:
            continue
        found.append(word)
    return found


def exported(path):
    out = set(DCGM)
    with open(path, encoding="utf-8") as f:
        for line in f:
            p = line.split()
            if len(p) == 4 and p[:2] == ["#", "TYPE"]:
                if p[3] == "histogram":
                    out.update(p[2] + s for s in ("_bucket", "_sum", "_count"))
                elif p[3] == "summary":
                    out.update(p[2] + s for s in ("", "_sum", "_count"))
                else:
                    out.add(p[2])
    return out


def dashboard_exprs(node):
    if isinstance(node, dict):
        for t in node.get("targets", []) or []:
            if isinstance(t, dict) and t.get("expr"):
                yield t["expr"]
        for p in node.get("panels", []) or []:
            yield from dashboard_exprs(p)


def exprs(path):
    with open(path, encoding="utf-8") as f:
        if path.endswith(".json"):
            return list(dashboard_exprs(json.load(f)))
        doc = yaml.safe_load(f) or {}
        if "tests" in doc:
            return [s["series"] for t in doc["tests"] for s in t.get("input_series", [])]
        return [r["expr"] for g in doc.get("groups", []) for r in g.get("rules", [])]


def main(argv):
    if len(argv) >= 2 and argv[0] == "--extract":
        for e in argv[1:]:
            print(" ".join(names(e)))
        return 0
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    known = exported(argv[0])
    if known == DCGM:
        print(f"{argv[0]}: no # TYPE line: not a Prometheus exposition", file=sys.stderr)
        return 2
    bad = 0
    for path in argv[1:]:
        es = exprs(path)
        if not es:
            print(f"{path}: no PromQL expression found", file=sys.stderr)
            return 2
        for e in es:
            unknown = [n for n in names(e) if n not in known]
            if unknown:
                bad += 1
                print(f"{path}: {' '.join(e.split())}: not exported: {', '.join(unknown)}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
