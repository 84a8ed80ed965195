#!/usr/bin/env python3
"""Figures 'storm' and 'idle': N services under each system.

For each system, N services (the static probe; every service's stamps file is
a symlink to one shared file, so one read tells how many are up). Once all N
are up and have lived 1.5 s:
  - memory: RSS and PSS summed over the supervision processes (every process of
    the system's tree that is not a service);
  - idle: CPU consumed by those processes over IDLE_SECS of nothing happening:
    utime+stime ticks from /proc/PID/stat (whole thread group), plus the CPU
    time (schedstat) and context switches of their threads;
  - storm: SIGKILL all N services at once; time until every one has started
    again (latest replacement stamp - time of the kill).
'floor' is N bare posix_spawns of the probe in a row from this script (the
median of 3 such runs).

env: STAMP, RESPAWN, BENCH_TMP, FRAG_DIR, N (500), IDLE_SECS (10), SYSTEMS.
"""
import os
import signal
import time

import benchlib as B

env = B.setup("storm")
ROOT = os.path.join(env.tmp, "storm")
N = env.n
STALL = 30  # give up bringing services up after this many seconds without progress


def start(key, root, dirs, logp):
    svc = os.path.join(root, "svc")
    if key == "respawn":
        args = env.respawn_cmd(root)
        for d in dirs:
            args += ["{", f"{d}/run", f"{d}/stamps", "}"]
    elif key == "supervisord":
        args = ["supervisord", "-n", "-c", B.supervisord_conf(root, dirs)]
    elif key == "s6":
        args = ["s6-svscan"]
        if N > 450:  # s6-svscan keeps at most 500 services unless told (-c)
            args += ["-c", str(N + 50)]
        args.append(svc)
    else:
        args = [B.PEER_PROGRAMS[key][1], svc]
    return B.popen(args, root, logp)


def wait_distinct(st, base, n, timeout, sleep, proc_pid=None):
    """Wait until the lines after index `base` name n distinct pids. Returns
    (ok, the first such n lines)."""
    end = time.monotonic() + timeout
    last, progress = -1, time.monotonic()
    while True:
        st.poll()
        seen = {}
        for pid, ns in st.lines[base:]:
            seen.setdefault(pid, ns)
            if len(seen) >= n:
                return True, seen
        now = time.monotonic()
        if len(st.lines) != last:
            last, progress = len(st.lines), now
        if now > end or now - progress > STALL or (proc_pid is not None and not B.alive(proc_pid)):
            return False, seen
        time.sleep(sleep)


def measure(key):
    root = os.path.join(ROOT, key)
    dirs = B.make_services(root, N, env.stamp)
    st = B.Stamps(os.path.join(root, "stamps.all"))
    logp = os.path.join(root, "supervisor.log")
    row = {"n": N}
    t0 = time.monotonic()
    proc = start(key, root, dirs, logp)
    try:
        ok, seen = wait_distinct(st, 0, N, 180, 0.01, proc.pid)
        if not ok:
            row["error"] = (f"only {len(seen)}/{N} services came up "
                            f"({B.describe_status(B.EXITED.get(proc.pid))}) {B.tail(logp)}")
            return row
        row["up_s"] = time.monotonic() - t0
        time.sleep(1.5)

        tree = B.descendants(proc.pid)
        probes = [p for p in tree if B.is_probe(p)]
        sup = [p for p in tree if p not in set(probes)]
        row["supervision_procs"] = len(sup)
        if len(probes) != N:
            row["note"] = f"{len(probes)} services running, expected {N}"
        row["rss_kb"], row["pss_kb"] = B.smaps_kb(sup)

        st.poll()
        before_lines = len(st.lines)
        b = B.cpu_sample(sup)
        time.sleep(env.idle_secs)
        a = B.cpu_sample(sup)
        ticks, ns, sw = B.cpu_delta(b, a)
        st.poll()
        row["idle"] = {"secs": env.idle_secs, "ticks": ticks, "cpu_ms": ns / 1e6,
                       "ctxt_switches": sw, "restarts": len(st.lines) - before_lines}

        base = len(st.lines)
        k0 = time.time_ns()
        for p in probes:
            B.kill(p)
        ok, seen = wait_distinct(st, base, len(probes), 60, 0.005, proc.pid)
        row["back"] = len(seen)
        if ok:
            row["recovery_ms"] = (max(seen.values()) - k0) / 1e6
        else:
            row["error"] = f"only {len(seen)}/{len(probes)} back within 60 s"
        return row
    finally:
        st.close()
        if key == "respawn":
            B.stop_respawn(proc.pid, row)
        else:
            B.stop_supervisor(proc.pid, None, grace=5.0)


def floor():
    """The floor, 3 times (it is cheap and noisy): the median run."""
    runs = [floor_once() for _ in range(3)]
    ok = sorted((r for r in runs if "recovery_ms" in r), key=lambda r: r["recovery_ms"])
    if not ok:
        return runs[0]
    r = ok[len(ok) // 2]
    r["runs_ms"] = [x.get("recovery_ms") for x in runs]
    return r


def floor_once():
    root = os.path.join(ROOT, "floor")
    dirs = B.make_services(root, N, env.stamp)
    st = B.Stamps(os.path.join(root, "stamps.all"))
    runs = [(f"{d}/run", f"{d}/stamps") for d in dirs]
    environ = dict(os.environ)
    k0 = time.time_ns()
    pids = [os.posix_spawn(r, [r, s], environ) for r, s in runs]
    ok, seen = wait_distinct(st, 0, N, 60, 0.005)
    st.close()
    for p in pids:
        B.kill(p)
    for p in pids:
        os.waitpid(p, 0)
    if not ok:
        return {"n": N, "error": f"only {len(seen)}/{N} started"}
    return {"n": N, "back": N, "recovery_ms": (max(seen.values()) - k0) / 1e6}


def main():
    rows = {}
    for key in B.SYSTEM_NAMES:
        if not env.wanted(key):
            continue
        if key == "floor":
            B.log(f"bare spawn floor: {N} spawns")
            rows[key] = floor()
        elif key == "respawn" and not env.respawn_ok():
            rows[key] = {"skipped": f"{env.respawn} not built"}
        elif key != "respawn" and not env.peer_ok(key, 1):
            rows[key] = {"skipped": f"{B.PEER_PROGRAMS[key][1]} not installed"}
        else:
            B.log(f"{B.SYSTEM_NAMES[key]}: {N} services")
            rows[key] = measure(key)
        r = rows[key]
        msg = []
        if "up_s" in r:
            msg.append(f"all up in {r['up_s']:.2f} s")
        if "pss_kb" in r:
            msg.append(f"RSS {r['rss_kb']/1024:.1f} MiB PSS {r['pss_kb']/1024:.1f} MiB")
        if "idle" in r:
            i = r["idle"]
            msg.append(f"idle {i['ticks']} ticks {i['cpu_ms']:.1f} ms {i['ctxt_switches']} switches")
        if "recovery_ms" in r:
            msg.append(f"storm back in {r['recovery_ms']:.1f} ms")
        for k in ("error", "skipped", "note", "stop_note"):
            if k in r:
                msg.append(f"{k}: {r[k]}")
        B.log("  " + "; ".join(msg))
    B.write_fragment(env, "storm", {"rows": rows, "n": N, "idle_secs": env.idle_secs})


main()
