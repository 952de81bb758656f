"""The PromQL queries of deploy/ (the PrometheusRule's rules, the Grafana
dashboard's panels and variables) and the metric names each one uses.

Used by validate.py (the names against docs/operations.md's tables) and,
as a command, by tests/integration/t_ops.sh (the names against real
scrapes of the binaries):

    metric_exprs.py ROOT SCRAPE_FILE...   exit 1 if a name is in no scrape
"""
import glob
import json
import re
import sys

import yaml

KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
            "bool", "offset", "inf", "nan"}


def metric_names(expr):
    """The metric names in a PromQL expression (not functions, keywords,
    labels, durations or Grafana variables)."""
    expr = re.sub(r"^label_values\((.*),\s*\w+\)$", r"\1", expr.strip())  # the metric, not the label
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)            # strings
    e = re.sub(r"\{[^}]*\}", "", e)                          # label matchers
    e = re.sub(r"\[[^\]]*\]", "", e)                         # ranges
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", e)
    e = re.sub(r"\$\{?\w+\}?", "", e)                        # Grafana variables
    names = set()
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", e):
        n = m.group(0)
        if n in KEYWORDS or re.fullmatch(r"\d+[smhdwy]", n) or e[m.end():].lstrip().startswith("("):
            continue
        names.add(n)
    return names


def dashboard(root):
    try:
        with open(f"{root}/deploy/grafana/outdial.json") as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def queries(root):
    """[(where, expr)] of the PrometheusRule in deploy/kubernetes/base and
    of the dashboard."""
    out = []
    for path in sorted(glob.glob(f"{root}/deploy/kubernetes/base/*.yaml")):
        with open(path) as f:
            for d in yaml.safe_load_all(f):
                if d and d.get("kind") == "PrometheusRule":
                    for g in d["spec"]["groups"]:
                        for x in g["rules"]:
                            out.append(("rules " + x.get("alert", x.get("record", "")), x["expr"]))

    def walk(o, path):
        if isinstance(o, dict):
            if o.get("type") == "datasource":  # a variable whose query is a plugin's name
                return
            for k, v in o.items():
                if k in ("expr", "query") and isinstance(v, str) and v:
                    out.append((f"dashboard {path}", v))
                else:
                    walk(v, f"{path}/{o.get('title', k)}" if k == "targets" else path)
        elif isinstance(o, list):
            for i in o:
                walk(i, path)

    dash = dashboard(root)
    walk(dash.get("panels", []), "panels")
    walk(dash.get("templating", {}), "templating")
    return out


def scraped_names(paths):
    """Every metric family in Prometheus text scrapes (by their # TYPE
    lines), with a histogram's _bucket, _sum and _count."""
    names = set()
    for p in paths:
        with open(p) as f:
            for line in f:
                m = re.match(r"# TYPE (\S+) (\S+)", line)
                if m:
                    names.add(m.group(1))
                    if m.group(2) == "histogram":
                        names |= {m.group(1) + s for s in ("_bucket", "_sum", "_count")}
    return names


if __name__ == "__main__":
    have = scraped_names(sys.argv[2:])
    missing = sorted({(n, w) for w, e in queries(sys.argv[1]) for n in metric_names(e) if n not in have})
    for n, w in missing[:20]:
        print(f"FAILED: {w}: {n} is in no scrape")
    print(f"{len(have)} names scraped; {len(missing)} used by deploy/ and not among them")
    sys.exit(1 if missing or not have else 0)
