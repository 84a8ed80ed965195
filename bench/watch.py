#!/usr/bin/env python3
"""Figure 'watch': respawn watching processes it did not start (--watch-*).

(a) Latency, kill -> replacement exec'd, of the probe two ways in one run:
    as a respawn server ({ ./run }, as 'latency' measures it), and as a
    process started outside respawn and watched by --watch-exe, whose first
    abnormal death respawn turns into a restart (two respawns). Each round
    starts a fresh outsider (in its own session), waits until respawn logs
    that it watches it and until both it and the server have lived > 1.25 s,
    then SIGKILLs each in turn (each first in every other round) and times
    the stamp of its replacement. Target: watched within 1.2x of the server.
(b) CPU during a storm of STORM_FORKS (50000) fork+exit (bench/forkstorm.c:
    vfork, the child exits at once) while respawn watches one outsider:
    with its BPF filter, with RESPAWN_WATCH_BPF=off, idle for as long as the
    storm took (the floor), and forkstat -e exec,exit on the same storm.
    CPU is schedstat run time of every thread, ticks utime+stime, context
    switches of the live threads; events lost and overruns are counted from
    respawn's log.

env: STAMP, RESPAWN, BENCH_TMP, FRAG_DIR, ROUNDS (20), FORKSTORM (built by
run.sh), STORM_FORKS (50000), see benchlib.Env.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import time

import benchlib as B

env = B.setup("watch")
ROOT = os.path.join(env.tmp, "watch")
LIVED = 1.25  # seconds a process lives before it is killed (respawn's --interval=1)
FORKSTORM = os.environ.get("FORKSTORM", "")
FORKS = int(os.environ.get("STORM_FORKS", "50000"))
LOST = ("watch: events lost", "watch: proc connector overran, rescanning /proc")


class Log:
    """respawn's JSON log lines, read incrementally from its log file."""

    def __init__(self, path):
        self.path, self.off, self.carry, self.lines = path, 0, b"", []

    def poll(self):
        with open(self.path, "rb") as f:
            f.seek(self.off)
            b = f.read()
        self.off += len(b)
        *full, self.carry = (self.carry + b).split(b"\n")
        for l in full:
            try:
                self.lines.append(json.loads(l))
            except ValueError:
                pass

    def count(self, msg, **kv):
        self.poll()
        return sum(1 for l in self.lines if l.get("msg") == msg and all(l.get(k) == v for k, v in kv.items()))

    def wait(self, msg, timeout=10, alive=None, **kv):
        end = time.monotonic() + timeout
        while time.monotonic() < end and (alive is None or alive()):
            if self.count(msg, **kv):
                return True
            time.sleep(0.002)
        return self.count(msg, **kv) > 0


def respawn(root, d, extra, envs=None):
    logp = os.path.join(root, "respawn.log")
    open(logp, "w").close()
    args = env.respawn_cmd(root) + ["--log-format=json"] + extra
    e = dict(os.environ, **(envs or {}))
    with open(logp, "ab") as logf:
        proc = subprocess.Popen(args, cwd=d, start_new_session=True, stdin=subprocess.DEVNULL,
                                stdout=logf, stderr=logf, close_fds=True, env=e)
    return proc, Log(logp), logp


def outsider(d):
    """The probe started outside respawn: our child, in its own session."""
    run = os.path.join(d, "run")
    return subprocess.Popen([run, os.path.join(d, "stamps")], cwd=d, start_new_session=True,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, close_fds=True)


def age_wait(ns):
    age = (time.time_ns() - ns) / 1e9
    if age < LIVED:
        time.sleep(LIVED - age)


class Service:
    """One respawn and its probe's stamps: a server ({ ./run }), or a rule
    watching outsiders started from the same probe (--watch-exe)."""

    def __init__(self, name, watched):
        self.root = os.path.join(ROOT, name)
        (self.d,) = B.make_services(self.root, 1, env.stamp, shared_stamps=False)
        self.st = B.Stamps(os.path.join(self.d, "stamps"))
        extra = [f"--watch-exe={self.d}/run"] if watched else ["{", "./run", "}"]
        self.proc, self.log, self.logp = respawn(self.root, self.d, extra)
        self.watched, self.lat, self.error, self.row = watched, [], None, {}

    def alive(self):
        return B.alive(self.proc.pid)

    def ready(self, i):
        """Before round i: the process to kill runs (an outsider watched, for
        a watched service); returns its pid and stamp, or None."""
        n = len(self.st.lines)
        if self.watched:
            o = outsider(self.d)
            if not self.st.wait_count(n + 1, 10) or not self.log.wait("watching", pid=o.pid, alive=self.alive):
                self.error = f"round {i}: outsider {o.pid} not watched within 10 s: {B.tail(self.logp)}"
                return None
        elif not self.st.wait_count(1, 15, alive=self.alive):
            self.error = "server never started: " + B.tail(self.logp)
            return None
        return self.st.lines[-1]

    def kill(self, i, pid):
        n = len(self.st.lines)
        t0 = time.time_ns()
        os.kill(pid, signal.SIGKILL)
        if not self.st.wait_count(n + 1, 10, alive=self.alive):
            self.error = f"round {i}: not restarted within 10 s: {B.tail(self.logp)}"
            return
        self.lat.append((self.st.lines[n][1] - t0) / 1e6)
        B.reap()

    def close(self):
        """SIGTERM to respawn; a note if it did not exit within 5 s or left
        one of its probes running (the other service's are not its)."""
        self.st.close()
        if B.kill(self.proc.pid, signal.SIGTERM) and B.wait_exit(self.proc.pid, 5.0) is None:
            self.row["stop_note"] = "did not exit within 5 s of SIGTERM"
        else:
            time.sleep(0.05)
            left = [p for p in B.descendants(os.getpid(), include_root=False)
                    if not B.is_zombie(p) and (B.exe(p) or "").startswith(self.d + "/")]
            if left:
                self.row["stop_note"] = f"left {len(left)} server(s) running after SIGTERM"
        if self.error:
            self.row["error"] = self.error
        elif self.lat:
            self.row.update(B.summary_ms(self.lat))
        return self.row


def latency():
    """Rounds of both services, interleaved (each first in every other
    round), so that both see the same machine."""
    svc = [Service("server", False), Service("watched", True)]
    try:
        for i in range(env.rounds):
            ready = [x.ready(i) for x in svc]
            if None in ready:
                break
            age_wait(min(ns for _, ns in ready))
            for x, (pid, _) in (zip(svc, ready) if i % 2 == 0 else reversed(list(zip(svc, ready)))):
                x.kill(i, pid)
            if any(x.error for x in svc):
                break
    finally:
        rows = [x.close() for x in svc]
        B.kill_descendants()
    return {"server": rows[0], "watched": rows[1]}


def run_storm():
    """Runs the storm; returns its seconds (from its own report) or an error string."""
    r = subprocess.run([FORKSTORM, "fork", str(FORKS)], capture_output=True, text=True, timeout=600)
    m = re.search(r"secs=([\d.]+)", r.stdout)
    if r.returncode != 0 or not m:
        return f"forkstorm failed: {r.returncode} {r.stdout} {r.stderr}"
    return float(m.group(1))


def cpu_row(before, after, secs):
    ticks, ns, sw = B.cpu_delta(before, after)
    return {"storm_s": secs, "cpu_ms": ns / 1e6, "ticks": ticks, "ctxt_switches": sw}


def storm_respawn(name, envs, idle_for=None):
    root = os.path.join(ROOT, name)
    (d,) = B.make_services(root, 1, env.stamp, shared_stamps=False)
    proc, log, logp = respawn(root, d, [f"--watch-exe={d}/run"], envs)
    o = outsider(d)
    row = {}
    try:
        if not log.wait("watching", pid=o.pid, alive=lambda: B.alive(proc.pid)):
            return {"error": "outsider not watched: " + B.tail(logp)}
        time.sleep(0.3)
        before = B.cpu_sample([proc.pid])
        if idle_for is None:
            secs = run_storm()
            if isinstance(secs, str):
                return {"error": secs}
        else:
            time.sleep(idle_for)
            secs = idle_for
        after = B.cpu_sample([proc.pid])
        row = cpu_row(before, after, secs)
        row["lost"] = sum(log.count(m) for m in LOST)
        row["watched_alive"] = B.alive(o.pid)
        return row
    finally:
        B.kill(o.pid)
        B.stop_respawn(proc.pid, row)
        B.reap()


def storm_forkstat():
    fs = shutil.which("forkstat")
    if not fs:
        return {"skipped": "forkstat not installed (Debian package forkstat)"}
    out = os.path.join(ROOT, "forkstat.out")
    os.makedirs(ROOT, exist_ok=True)
    with open(out, "wb") as f:
        p = subprocess.Popen([fs, "-e", "exec,exit"], stdout=f, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        end = time.monotonic() + 10
        while os.path.getsize(out) == 0 and time.monotonic() < end:  # its heading: listening
            time.sleep(0.01)
        time.sleep(0.3)
        before = B.cpu_sample([p.pid])
        secs = run_storm()
        if isinstance(secs, str):
            return {"error": secs}
        time.sleep(0.2)  # what it has queued
        after = B.cpu_sample([p.pid])
        return cpu_row(before, after, secs)
    finally:
        B.kill(p.pid, signal.SIGINT)
        if B.wait_exit(p.pid, 5) is None:
            B.kill(p.pid)
            B.wait_exit(p.pid, 5)


def ms(v):
    return None if v is None else round(v, 3)


def main():
    if not env.respawn_ok():
        B.write_fragment(env, "watch", {"title": "watch", "status": f"not available ({env.respawn} not built)"})
        return
    if not FORKSTORM or not os.access(FORKSTORM, os.X_OK):
        B.die(f"FORKSTORM={FORKSTORM!r} is not an executable (bench/run.sh builds bench/forkstorm.c)")
    B.log(f"latency: {env.rounds} rounds as a server, {env.rounds} as a watched process")
    lat = latency()
    B.log(f"  {lat}")
    B.log(f"CPU during a storm of {FORKS} forks")
    storm = {"bpf": storm_respawn("bpf", {}), "nobpf": storm_respawn("nobpf", {"RESPAWN_WATCH_BPF": "off"})}
    secs = storm["bpf"].get("storm_s")
    storm["idle"] = storm_respawn("idle", {}, idle_for=secs if isinstance(secs, float) else 2.0)
    storm["forkstat"] = storm_forkstat()
    B.log(f"  {storm}")

    notes, status = [], None
    sm, wm = lat["server"].get("median_ms"), lat["watched"].get("median_ms")
    ratio = wm / sm if sm and wm else None
    if ratio is not None:
        notes.append(f"watched / server median latency {ratio:.2f}x (target <= 1.2: {'ok' if ratio <= 1.2 else 'MISSED'})")
    b, nb = storm["bpf"].get("cpu_ms"), storm["nobpf"].get("cpu_ms")
    if b is not None and nb is not None:
        notes.append(f"respawn CPU in the storm: {nb / b:.1f}x more without the BPF filter" if b > 0 else
                     "respawn used no measurable CPU in the storm with the BPF filter")
    for k, r in list(lat.items()) + list(storm.items()):
        for key in ("error", "skipped", "stop_note"):
            if r.get(key):
                notes.append(f"{k}: {key}: {r[key]}")
    lat_rows = [[k, r.get("rounds"), ms(r.get("median_ms")), ms(r.get("p90_ms")), ms(r.get("max_ms")),
                 ms(r["median_ms"] / sm) if sm and "median_ms" in r else None]
                for k, r in (("respawn server", lat["server"]), ("watched process", lat["watched"]))]
    names = {"bpf": "respawn, BPF filter", "nobpf": "respawn, RESPAWN_WATCH_BPF=off",
             "idle": "respawn, idle as long (floor)", "forkstat": "forkstat -e exec,exit"}
    cpu_rows = [[names[k], ms(r.get("storm_s")), ms(r.get("cpu_ms")), r.get("ticks"), r.get("ctxt_switches"),
                 r.get("lost", "n/a")] for k, r in storm.items()]
    frag = {"title": "watch: processes respawn did not start (--watch-exe)",
            "latency": lat, "storm": storm, "forks": FORKS, "notes": notes,
            "tables": [
                {"title": "kill -> replacement exec'd, ms", "columns":
                    ["process", "rounds", "median ms", "p90 ms", "max ms", "x server"], "rows": lat_rows},
                {"title": f"CPU during a storm of {FORKS} fork+exit, one watch rule", "columns":
                    ["who", "storm s", "CPU ms", "ticks", "ctxt sw", "lost/overruns"], "rows": cpu_rows},
            ]}
    if status:
        frag["status"] = status
    B.write_fragment(env, "watch", frag)


main()
