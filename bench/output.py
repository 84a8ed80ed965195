#!/usr/bin/env python3
"""Figure 'output': what captured output costs, against inherited, same run.

- latency: one respawn with two services, the probe with --output=capture and
  the probe with --output=inherit; each round kills both (each after it lived
  > 1.25 s), each mode first in every other round, so both see the same
  machine at the same time.
- memory: respawn with N probes, all captured, then all inherited: PSS of
  respawn and its open descriptors, once all are up.
- throughput: one server writing LINES lines of 100 bytes as fast as it can
  (yes | head), captured and inherited: seconds from start to respawn's exit,
  and the lines that reached respawn's log (a file here, so none is dropped).

env: STAMP, RESPAWN, BENCH_TMP, FRAG_DIR, ROUNDS (20), N (500), LINES (200000).
"""
import os
import signal
import time

import benchlib as B

env = B.setup("output")
ROOT = os.path.join(env.tmp, "output")
LIVED = 1.25
N = int(os.environ.get("N", "500"))
LINES = int(os.environ.get("LINES", "200000"))
MODES = ("capture", "inherit")


def latency():
    root = os.path.join(ROOT, "latency")
    dirs = B.make_services(root, 2, env.stamp, shared_stamps=False)
    args = env.respawn_cmd(root)
    for mode, d in zip(MODES, dirs):
        args += ["{", f"@{mode}", f"--output={mode}", f"{d}/run", f"{d}/stamps", "}"]
    logp = os.path.join(root, "respawn.log")
    proc = B.popen(args, root, logp)
    stamps = [B.Stamps(os.path.join(d, "stamps")) for d in dirs]
    lat = {m: [] for m in MODES}
    row = {}
    try:
        for st in stamps:
            if not st.wait_count(1, 15, alive=lambda: B.alive(proc.pid)):
                return {"error": "services never started: " + B.tail(logp)}
        for i in range(env.rounds):
            # Each mode goes first in every other round: the first kill
            # after a quiet second finds respawn asleep and its caches cold.
            pairs = list(zip(MODES, stamps))
            for mode, st in (pairs if i % 2 == 0 else pairs[::-1]):
                pid, ns = st.lines[-1]
                age = (time.time_ns() - ns) / 1e9
                if age < LIVED:
                    time.sleep(LIVED - age)
                n = len(st.lines)
                t0 = time.time_ns()
                os.kill(pid, signal.SIGKILL)
                if not st.wait_count(n + 1, 10, alive=lambda: B.alive(proc.pid)):
                    return {"error": f"round {i}: {mode} not restarted: {B.tail(logp)}"}
                lat[mode].append((st.lines[n][1] - t0) / 1e6)
        return {m: B.summary_ms(v) for m, v in lat.items()}
    finally:
        for st in stamps:
            st.close()
        B.stop_respawn(proc.pid, row, grace=3.0)


def memory(mode):
    root = os.path.join(ROOT, "memory-" + mode)
    dirs = B.make_services(root, N, env.stamp)
    args = env.respawn_cmd(root) + [f"--output={mode}"]
    for d in dirs:
        args += ["{", f"{d}/run", f"{d}/stamps", "}"]
    logp = os.path.join(root, "respawn.log")
    st = B.Stamps(os.path.join(root, "stamps.all"))
    proc = B.popen(args, root, logp)
    row = {"n": N}
    try:
        if not st.wait_count(N, 120, sleep=0.01, alive=lambda: B.alive(proc.pid)):
            row["error"] = f"only {len(st.lines)}/{N} up: {B.tail(logp)}"
            return row
        time.sleep(1.5)
        row["rss_kb"], row["pss_kb"] = B.smaps_kb([proc.pid])
        row["fds"] = len(os.listdir(f"/proc/{proc.pid}/fd"))
        return row
    finally:
        st.close()
        B.stop_respawn(proc.pid, row)


def throughput(mode):
    root = os.path.join(ROOT, "throughput-" + mode)
    os.makedirs(root, exist_ok=True)
    line = "0123456789" * 9 + "abcdefghi"  # 99 bytes and the newline
    args = env.respawn_cmd(root) + [f"--output={mode}", "{", "@w", "sh", "-c",
                                    f"yes {line} | head -n {LINES}", "}"]
    logp = os.path.join(root, "respawn.log")
    t0 = time.monotonic()
    proc = B.popen(args, root, logp)
    status = B.wait_exit(proc.pid, 120)
    secs = time.monotonic() - t0
    if status is None:
        B.stop_respawn(proc.pid, {})
        return {"error": "respawn did not end within 120 s"}
    with open(logp, "rb") as f:
        got = sum(1 for l in f if l.rstrip(b"\n").endswith(line.encode()))
    return {"secs": secs, "lines": got, "lines_per_s": got / secs}


def main():
    if not env.respawn_ok():
        B.write_fragment(env, "output", {"title": "captured output", "status": f"skipped: {env.respawn} not built"})
        return
    B.log(f"latency: {env.rounds} rounds each, alternating")
    lat = latency()
    B.log(f"  {lat}")
    mem = {}
    for m in MODES:
        B.log(f"memory: {N} services, --output={m}")
        mem[m] = memory(m)
        B.log(f"  {mem[m]}")
    thr = {}
    for m in MODES:
        B.log(f"throughput: {LINES} lines, --output={m}")
        thr[m] = throughput(m)
        B.log(f"  {thr[m]}")
    rows = []
    for m in MODES:
        l, s, t = lat.get(m, {}), mem[m], thr[m]
        rows.append([m, l.get("median_ms"), l.get("p90_ms"), s.get("pss_kb", 0) / 1024 or None,
                     s.get("fds"), t.get("lines_per_s"), t.get("lines")])
    notes = [f"{k}: {v['error']}" for k, v in
             [("latency", lat)] + [(f"memory {m}", mem[m]) for m in MODES] + [(f"throughput {m}", thr[m]) for m in MODES]
             if isinstance(v, dict) and v.get("error")]
    B.write_fragment(env, "output", {
        "title": "captured output vs inherited (same run)",
        "tables": [{"columns": ["output", "latency median ms", "p90 ms", f"PSS MiB at {N}", f"fds at {N}",
                                "lines/s", "lines"], "rows": rows}],
        "notes": notes, "latency": lat, "memory": mem, "throughput": thr})


main()
