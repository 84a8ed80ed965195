#!/usr/bin/env python3
"""Figure 'settings': respawn latency (kill -> replacement exec'd) of a server
with per-server settings, beside the same server without, in one run.

One respawn per row, each with one probe service; the rounds are interleaved
(each round kills the service of every row in turn, once it has lived
> 1.25 s), so that every row sees the same machine. Rows: no settings; what
SysProcAttr applies (--user --cwd --env); what a fresh thread carries
(--umask --nice); what the traced exec sets (--nofile); and all of them.

env: STAMP, RESPAWN, BENCH_TMP, FRAG_DIR, ROUNDS (20), see benchlib.Env.
"""
import os
import signal
import time

import benchlib as B

env = B.setup("settings")
ROOT = os.path.join(env.tmp, "settings")
LIVED = 1.25  # seconds a service lives before it is killed

ROWS = [
    ("no settings", []),
    ("--user --cwd --env", ["--user=nobody", "--cwd={d}", "--env=A=1"]),
    ("--umask --nice", ["--umask=027", "--nice=5"]),
    ("--nofile", ["--nofile=4096"]),
    ("all six", ["--user=nobody", "--cwd={d}", "--env=A=1", "--umask=027", "--nofile=4096", "--nice=5"]),
]


def start(i, settings):
    root = os.path.join(ROOT, f"r{i}")
    (d,) = B.make_services(root, 1, env.stamp, shared_stamps=False)
    os.chmod(d, 0o777)  # the probe writes ./stamps there, as nobody too
    args = env.respawn_cmd(root) + ["{"] + [s.format(d=d) for s in settings] + ["./run", "}"]
    logp = os.path.join(root, "supervisor.log")
    return {"proc": B.popen(args, d, logp), "st": B.Stamps(os.path.join(d, "stamps")), "log": logp, "lat": []}


def kill_one(r, i):
    """Kill r's service and time its replacement; an error string or None."""
    st, proc = r["st"], r["proc"]
    pid, ns = st.lines[-1]
    if not B.is_probe(pid):
        return f"round {i}: service pid {pid} is gone before the kill"
    n = len(st.lines)
    t0 = time.time_ns()
    os.kill(pid, signal.SIGKILL)
    if not st.wait_count(n + 1, 10, alive=lambda: B.alive(proc.pid)):
        return f"round {i}: not restarted within 10 s {B.tail(r['log'])}"
    r["lat"].append((st.lines[n][1] - t0) / 1e6)
    return None


def run(runs):
    for r in runs:
        if not r["st"].wait_count(1, 15, alive=lambda: B.alive(r["proc"].pid)):
            return "service never started: " + B.tail(r["log"])
    for i in range(env.rounds):
        age = min((time.time_ns() - r["st"].lines[-1][1]) / 1e9 for r in runs)
        if age < LIVED:
            time.sleep(LIVED - age)
        for r in (runs if i % 2 == 0 else runs[::-1]):
            err = kill_one(r, i)
            if err:
                return err
    return None


def main():
    if not env.respawn_ok():
        B.write_fragment(env, "settings", {"status": f"skipped: {env.respawn} not built"})
        return
    # Every server but the first may run as nobody: let it reach its directory.
    os.chmod(env.tmp, 0o711)
    B.log(f"respawn with and without per-server settings: {env.rounds} interleaved rounds")
    runs = [start(i, s) for i, (_, s) in enumerate(ROWS)]
    try:
        err = run(runs)
    finally:
        for r in runs:
            r["st"].close()
            B.stop_respawn(r["proc"].pid, {}, grace=3.0)
    rows, base = [], None
    for (name, _), r in zip(ROWS, runs):
        if not r["lat"]:
            continue
        s = B.summary_ms(r["lat"])
        base = base or s["median_ms"]
        rows.append([name, s["median_ms"], s["p90_ms"], s["max_ms"], s["median_ms"] / base])
        B.log(f"  {name}: median {s['median_ms']:.2f} ms  p90 {s['p90_ms']:.2f}  max {s['max_ms']:.2f}")
    B.write_fragment(env, "settings", {
        "title": f"respawn latency with per-server settings, ms ({env.rounds} interleaved rounds)",
        "tables": [{"columns": ["settings", "median", "p90", "max", "x none"], "rows": rows}],
        "status": err or "ok",
    })


main()
