#!/usr/bin/env python3
"""Combine the figures' fragments (FRAG_DIR/<figure>.json) into one table.

usage: summary.py JSON_OUT FIGURE...

The main table has one row per system, from the 'latency' and 'storm'
fragments (storm carries the memory and idle figures too), with ratios to the
bare-spawn floor. Any other fragment contributes its own small tables: a
fragment may hold "tables": [{"title", "columns", "rows"}], "status" and
"notes", which are printed as they are. So a new figure needs no change here.
"""
import json
import os
import platform
import sys
import time

from benchlib import SYSTEM_NAMES

TARGETS = ("respawn latency <= 1.5x floor, storm <= 1.0x floor, PSS < 15 MiB at 500, 0 CPU when idle, "
           "a watched process restarted within 1.2x of a server")


def load(frag_dir, figures):
    out = {}
    for f in figures:
        try:
            with open(os.path.join(frag_dir, f + ".json")) as fh:
                out[f] = json.load(fh)
        except (OSError, ValueError) as e:
            out[f] = {"figure": f, "status": f"no result ({e.__class__.__name__})"}
    return out


def fmt(v, spec):
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    return format(v, spec)


def ratio(a, b):
    if a is None or not b:
        return None
    return a / b


def main_table(res):
    lat = res.get("latency", {}).get("rows", {})
    storm = res.get("storm", {}).get("rows", {})
    if not lat and not storm:
        return {}, []
    fl = lat.get("floor", {}).get("median_ms")
    fs = storm.get("floor", {}).get("recovery_ms")
    rows, notes = {}, []
    for key, name in SYSTEM_NAMES.items():
        l, s = lat.get(key, {}), storm.get(key, {})
        if not l and not s:
            continue
        idle = s.get("idle", {})
        r = {
            "latency_median_ms": l.get("median_ms"), "latency_p90_ms": l.get("p90_ms"),
            "latency_max_ms": l.get("max_ms"), "latency_x_floor": ratio(l.get("median_ms"), fl),
            "storm_all_back_ms": s.get("recovery_ms"), "storm_x_floor": ratio(s.get("recovery_ms"), fs),
            "rss_mib": s["rss_kb"] / 1024 if "rss_kb" in s else None,
            "pss_mib": s["pss_kb"] / 1024 if "pss_kb" in s else None,
            "idle_ticks": idle.get("ticks"), "idle_cpu_ms": idle.get("cpu_ms"),
            "idle_ctxt_switches": idle.get("ctxt_switches"),
        }
        if key == "floor":
            r["latency_x_floor"] = r["storm_x_floor"] = None
        rows[key] = r
        for fig, d in (("latency", l), ("storm", s)):
            for k in ("skipped", "error", "note", "stop_note"):
                if d.get(k):
                    notes.append(f"{name}: {fig}: {k}: {d[k]}")
    return rows, notes


def print_main(res, rows, notes):
    n = res.get("storm", {}).get("n", "N")
    idle_secs = res.get("storm", {}).get("idle_secs", "")
    rounds = res.get("latency", {}).get("rounds", "")
    cols = [
        ("latency_median_ms", "lat med", ".2f"), ("latency_p90_ms", "p90", ".2f"),
        ("latency_max_ms", "max", ".2f"), ("latency_x_floor", "x floor", ".2f"),
        ("storm_all_back_ms", f"{n} back ms", ".0f"), ("storm_x_floor", "x floor", ".2f"),
        ("rss_mib", "RSS MiB", ".1f"), ("pss_mib", "PSS MiB", ".1f"),
        ("idle_ticks", "idle tck", "d"), ("idle_cpu_ms", "idle ms", ".1f"),
        ("idle_ctxt_switches", "idle csw", "d"),
    ]
    w = max(len(SYSTEM_NAMES[k]) for k in rows) if rows else 20
    print()
    head = []
    if "latency" in res and "rows" in res["latency"]:
        head.append(f"respawn kill->exec latency in ms ({rounds} rounds)")
    if "storm" in res and "rows" in res["storm"]:
        head.append(f"{n} services: all back after SIGKILL of all, supervision memory,"
                    f" CPU ticks / ms / context switches over {idle_secs} s idle")
    print("; ".join(head))
    head = f"{'system':{w}}" + "".join(f" {h:>9}" for _, h, _ in cols)
    print(head)
    print("-" * len(head))
    for key, r in rows.items():
        print(f"{SYSTEM_NAMES[key]:{w}}" + "".join(f" {fmt(r[c], spec):>9}" for c, _, spec in cols))
    resp = rows.get("respawn")
    if resp:
        checks = []
        if resp["latency_x_floor"] is not None:
            checks.append(f"latency {resp['latency_x_floor']:.2f}x floor "
                          f"({'ok' if resp['latency_x_floor'] <= 1.5 else 'MISSED'})")
        if resp["storm_x_floor"] is not None:
            checks.append(f"storm {resp['storm_x_floor']:.2f}x floor "
                          f"({'ok' if resp['storm_x_floor'] <= 1.0 else 'MISSED'})")
        if resp["pss_mib"] is not None:
            checks.append(f"PSS {resp['pss_mib']:.1f} MiB ({'ok' if resp['pss_mib'] < 15 else 'MISSED'})")
        if resp["idle_ticks"] is not None:
            checks.append(f"idle {resp['idle_ticks']} ticks ({'ok' if resp['idle_ticks'] == 0 else 'MISSED'})")
        w = watch_ratio(res)
        if w is not None:
            checks.append(f"watched restart {w:.2f}x server ({'ok' if w <= 1.2 else 'MISSED'})")
        print(f"respawn vs targets ({TARGETS}):")
        print("  " + "; ".join(checks) if checks else "  no figure")
    for note in notes:
        print(f"  note: {note}")


def watch_ratio(res):
    """The 'watch' figure's median latency of a watched process's restart
    over a server's, or None."""
    lat = res.get("watch", {}).get("latency", {})
    s, w = lat.get("server", {}).get("median_ms"), lat.get("watched", {}).get("median_ms")
    return w / s if s and w else None


def print_other(fig, d):
    print()
    title = d.get("title", fig)
    status = d.get("status")
    print(f"{title}: {status}" if status and not d.get("tables") else title)
    for t in d.get("tables", []):
        if t.get("title"):
            print(f"  {t['title']}")
        cols = t["columns"]
        cells = [[fmt(v, t.get("formats", {}).get(c, "")) if not isinstance(v, float) else f"{v:.2f}"
                  for c, v in zip(cols, row)] for row in t["rows"]]
        widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(cols)]
        # text columns to the left, numbers to the right
        left = [all(isinstance(row[i], str) and row[i] != "n/a" for row in t["rows"])
                for i in range(len(cols))]
        al = ["<" if left[i] else ">" for i in range(len(cols))]
        print("  " + "  ".join(f"{c:{al[i]}{widths[i]}}" for i, c in enumerate(cols)).rstrip())
        for r in cells:
            print("  " + "  ".join(f"{v:{al[i]}{widths[i]}}" for i, v in enumerate(r)).rstrip())
    if status and d.get("tables"):
        print(f"  status: {status}")
    for note in d.get("notes", []):
        print(f"  note: {note}")


def main():
    out = sys.argv[1]
    figures = sys.argv[2:]
    frag_dir = os.environ.get("FRAG_DIR", ".")
    res = load(frag_dir, figures)
    rows, notes = main_table(res)
    if rows:
        print_main(res, rows, notes)
    for fig, d in res.items():
        if fig not in ("latency", "storm"):
            print_other(fig, d)
    print()
    doc = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"cpus": os.cpu_count(), "kernel": platform.release()},
        "params": {k: os.environ.get(k) for k in ("ROUNDS", "N", "IDLE_SECS", "SYSTEMS", "RESPAWN", "WATCHDOG_SECS")},
        "table": {SYSTEM_NAMES[k]: v for k, v in rows.items()},
        "notes": notes,
        "figures": res,
    }
    d = os.path.dirname(os.path.abspath(out))
    os.makedirs(d, exist_ok=True)
    with open(out, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


main()
