#!/usr/bin/env python3
"""Figure 'latency': respawn latency, kill -> replacement exec'd, side by side.

For each system one service, whose program is the static probe (it appends
"pid realtime_ns" to its stamps file and pauses). Each round waits until the
service has lived > 1.25 s (past every peer's restart throttle and respawn's
--interval=1), SIGKILLs it and records (stamp of the replacement - time of the
kill). 'floor' is a bare posix_spawn of the probe from this script: the floor
for starting that program at all.

env: STAMP, RESPAWN, BENCH_TMP, FRAG_DIR, ROUNDS (20), SYSTEMS (word,word
filter on the system keys), see benchlib.Env.
"""
import os
import signal
import time

import benchlib as B

env = B.setup("latency")
ROOT = os.path.join(env.tmp, "latency")
LIVED = 1.25  # seconds a service lives before it is killed


def start(key, root, d, logp):
    if key == "respawn":
        args = env.respawn_cmd(root) + ["{", "./run", "}"]
    elif key == "supervisord":
        args = ["supervisord", "-n", "-c", B.supervisord_conf(root, [d])]
    else:
        args = [B.PEER_PROGRAMS[key][0], d]
    return B.popen(args, d, logp)


def measure(key):
    root = os.path.join(ROOT, key)
    (d,) = B.make_services(root, 1, env.stamp, shared_stamps=False)
    st = B.Stamps(os.path.join(d, "stamps"))
    logp = os.path.join(root, "supervisor.log")
    proc = start(key, root, d, logp)
    row = {}
    try:
        if not st.wait_count(1, 15, alive=lambda: B.alive(proc.pid)):
            return {"error": "service never started: " + (B.tail(logp) or B.describe_status(B.EXITED.get(proc.pid)))}
        lat = []
        for i in range(env.rounds):
            pid, ns = st.lines[-1]
            age = (time.time_ns() - ns) / 1e9
            if age < LIVED:
                time.sleep(LIVED - age)
            if not B.is_probe(pid):
                return {"error": f"round {i}: service pid {pid} is gone before the kill"}
            n = len(st.lines)
            t0 = time.time_ns()
            os.kill(pid, signal.SIGKILL)
            if not st.wait_count(n + 1, 10, alive=lambda: B.alive(proc.pid)):
                return {"error": f"round {i}: not restarted within 10 s "
                                 f"({B.describe_status(B.EXITED.get(proc.pid))}) {B.tail(logp)}"}
            lat.append((st.lines[n][1] - t0) / 1e6)
        row = B.summary_ms(lat)
        return row
    finally:
        st.close()
        if key == "respawn":
            B.stop_respawn(proc.pid, row, grace=3.0)
        else:
            B.stop_supervisor(proc.pid, None)


def floor():
    root = os.path.join(ROOT, "floor")
    (d,) = B.make_services(root, 1, env.stamp, shared_stamps=False)
    run, sp = os.path.join(d, "run"), os.path.join(d, "stamps")
    st = B.Stamps(sp)
    lat = []
    for i in range(env.rounds):
        n = len(st.lines)
        t0 = time.time_ns()
        pid = os.posix_spawn(run, [run, sp], os.environ)
        ok = st.wait_count(n + 1, 10)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        if not ok:
            return {"error": "the probe did not start"}
        lat.append((st.lines[n][1] - t0) / 1e6)
        time.sleep(0.02)
    st.close()
    return B.summary_ms(lat)


def main():
    rows = {}
    for key in B.SYSTEM_NAMES:
        if not env.wanted(key):
            continue
        if key == "floor":
            B.log("bare spawn floor")
            rows[key] = floor()
        elif key == "respawn" and not env.respawn_ok():
            rows[key] = {"skipped": f"{env.respawn} not built"}
        elif key not in ("floor", "respawn") and not env.peer_ok(key, 0):
            rows[key] = {"skipped": f"{B.PEER_PROGRAMS[key][0]} not installed"}
        else:
            B.log(f"{B.SYSTEM_NAMES[key]}: {env.rounds} rounds")
            rows[key] = measure(key)
        r = rows[key]
        if "median_ms" in r:
            B.log(f"  median {r['median_ms']:.2f} ms  p90 {r['p90_ms']:.2f}  max {r['max_ms']:.2f}"
                  + (f"  ({r['stop_note']})" if r.get("stop_note") else ""))
        else:
            B.log(f"  {r}")
    B.write_fragment(env, "latency", {"rows": rows, "rounds": env.rounds})


main()
