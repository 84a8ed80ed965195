#!/usr/bin/env python3
"""Figure 'heartbeat': AHM registrations (respawn --heartbeat-dir).

(a) Miss-to-action latency against the registered period. For each period
    (HB_PERIODS, ms; misses=0, action kill), HB_ROUNDS rounds: a child of
    this script holds a FIFO open, writes one beat to it and sleeps (sh:
    exec 3<>FIFO; printf .; exec sleep), and registers it. The latency is
    from the deadline (that beat, as respawn read it, + the period: the
    time of respawn's "deadline missed" line less its "late") to the
    child's death by SIGKILL, as waitpid sees it here (CLOCK_REALTIME on
    both sides): respawn's timer, its kill through the pidfd, the kernel's
    delivery and this script's wake-up, all included.
(b) respawn's CPU with HB_N (500) registrants beating every 100 ms
    (misses=2): test/testdata/beater.c processes, started by this script,
    registered, then respawn's CPU (utime+stime) over IDLE_SECS seconds,
    beside the same respawn with no registrant over as long.

env: RESPAWN, BENCH_TMP, FRAG_DIR, IDLE_SECS (10), HB_ROUNDS (10),
HB_PERIODS ("50,100,250,1000"), HB_N (500), see benchlib.Env.
"""
import calendar
import json
import os
import re
import signal
import subprocess
import time

import benchlib as B

env = B.setup("heartbeat")
ROOT = os.path.join(env.tmp, "heartbeat")
ROUNDS = int(os.environ.get("HB_ROUNDS", "10"))
PERIODS = [int(p) for p in os.environ.get("HB_PERIODS", "50,100,250,1000").split(",")]
N = int(os.environ.get("HB_N", "500"))
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Respawn:
    """respawn --heartbeat-dir on a directory of its own, logging JSON."""

    def __init__(self, name):
        self.root = os.path.join(ROOT, name)
        self.dir = os.path.join(self.root, "ahm")
        os.makedirs(self.dir)
        os.chmod(self.dir, 0o1777)
        self.log = os.path.join(self.root, "respawn.log")
        self.p = B.popen(env.respawn_cmd(self.root) + ["--log-format=json", f"--heartbeat-dir={self.dir}"],
                         self.root, self.log)
        self.off, self.lines = 0, []
        self.wait(lambda l: l.get("msg") == "ALIVE" and l.get("task") == "heartbeat", "the heartbeat task")

    def read(self):
        with open(self.log, "rb") as f:
            f.seek(self.off)
            b = f.read()
        whole = b[:b.rfind(b"\n") + 1]
        self.off += len(whole)
        for line in whole.splitlines():
            try:
                self.lines.append(json.loads(line))
            except ValueError:
                pass

    def count(self, pred):
        self.read()
        return sum(1 for l in self.lines if pred(l))

    def wait(self, pred, what, n=1, timeout=30.0):
        end = time.monotonic() + timeout
        while self.count(pred) < n:
            if time.monotonic() > end or self.p.poll() is not None:
                B.die(f"respawn: {what} not seen (log: {B.tail(self.log)})")
            time.sleep(0.005)

    def registered(self, pid):
        self.wait(lambda l: l.get("msg") == f"heartbeat: registration completed for PID {pid}", f"registration of {pid}")

    def stop(self, row):
        B.stop_respawn(self.p.pid, row)


def one_miss(r, period_ms, i):
    """One round: returns the ms from the deadline to the registrant's death."""
    fifo = os.path.join(r.root, f"fifo-{period_ms}-{i}")
    os.mkfifo(fifo, 0o600)
    holder = subprocess.Popen(["sh", "-c", 'exec 3<>"$0"; printf . >&3; exec sleep 600', fifo])
    while os.readlink(f"/proc/{holder.pid}/exe").split("/")[-1] != "sleep":
        time.sleep(0.001)
    tmp = os.path.join(r.dir, f"tmp.{holder.pid}")
    with open(tmp, "w") as f:
        f.write(f"fifo={fifo}\nperiod={period_ms}ms\nmisses=0\naction=kill\nname=miss{period_ms}\n")
    os.rename(tmp, os.path.join(r.dir, f".phm_{holder.pid}_b{i}"))
    os.waitpid(holder.pid, 0)
    dead = time.time_ns()
    holder.returncode = -signal.SIGKILL
    os.remove(fifo)
    miss = lambda l: l.get("msg") == "heartbeat: deadline missed" and l.get("pid") == holder.pid
    r.wait(miss, f"the miss of {holder.pid}")
    line = next(l for l in r.lines if miss(l))
    fired = rfc3339_ns(line["time"])
    last = fired - duration_ns(line["late"])  # the beat, as respawn read it
    return (dead - last) / 1e6 - period_ms


def rfc3339_ns(t):
    """ns since the epoch of an RFC 3339 time with up to 9 decimals, UTC."""
    base, _, frac = t.rstrip("Z").partition(".")
    secs = calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S"))
    return secs * 10**9 + int((frac + "000000000")[:9])


def duration_ns(d):
    """ns of a Go duration as respawn logs it: 1.5s, 301.2ms, 950µs."""
    m = re.fullmatch(r"([\d.]+)(ns|µs|us|ms|s)", d)
    if not m:
        B.die(f"duration {d!r}")
    return float(m.group(1)) * {"ns": 1, "µs": 1e3, "us": 1e3, "ms": 1e6, "s": 1e9}[m.group(2)]


def latency():
    r = Respawn("latency")
    rows = {}
    for period in PERIODS:
        vals = [one_miss(r, period, i) for i in range(ROUNDS)]
        rows[period] = B.summary_ms(vals)
        B.log(f"  period {period} ms: {rows[period]}")
    misses = r.count(lambda l: l.get("msg") == "heartbeat: deadline missed")
    r.stop(rows.setdefault("respawn", {}))
    return rows, misses


def cpu(n):
    """respawn's CPU over IDLE_SECS with n registrants beating every 100 ms."""
    r = Respawn(f"cpu{n}")
    beater = os.path.join(env.tmp, "beater")
    if not os.access(beater, os.X_OK):
        subprocess.run(["gcc", "-O2", "-o", beater, os.path.join(REPO, "test", "testdata", "beater.c")], check=True)
    fifos = os.path.join(r.root, "fifos")
    os.makedirs(fifos)
    kids = [subprocess.Popen([beater, r.dir, f"b{i}", "100", "2", "log", fifos]) for i in range(n)]
    done = lambda l: str(l.get("msg", "")).startswith("heartbeat: registration completed")
    r.wait(done, f"{n} registrations", n=n, timeout=120)
    time.sleep(1)
    before, t0 = B.cpu_sample([r.p.pid]), time.monotonic()
    kb = B.cpu_sample([k.pid for k in kids])
    time.sleep(env.idle_secs)
    after, secs = B.cpu_sample([r.p.pid]), time.monotonic() - t0
    ka = B.cpu_sample([k.pid for k in kids])
    ticks, ns, sw = B.cpu_delta(before, after)
    kticks, kns, _ = B.cpu_delta(kb, ka)
    row = {"registrants": n, "secs": round(secs, 2), "cpu_ms": ns / 1e6, "cpu_pct": ns / 1e7 / secs,
           "ticks": ticks, "ctxt_switches": sw, "beaters_cpu_pct": kns / 1e7 / secs,
           "missed": r.count(lambda l: l.get("msg") == "heartbeat: deadline missed")}
    for k in kids:
        k.kill()
        k.wait()
    r.stop(row)
    return row


def ms(v):
    return None if v is None else round(v, 2)


def main():
    if not env.respawn_ok():
        B.write_fragment(env, "heartbeat", {"title": "heartbeat", "status": f"not available ({env.respawn} not built)"})
        return
    os.makedirs(ROOT, exist_ok=True)
    B.log(f"miss-to-action latency: periods {PERIODS} ms, {ROUNDS} rounds each")
    lat, misses = latency()
    B.log(f"CPU with {N} registrants beating every 100 ms, and with none, {env.idle_secs:g} s each")
    load, idle = cpu(N), cpu(0)
    B.log(f"  {load}\n  {idle}")
    notes = [f"latency rounds: {misses} deadlines missed, one per round (want {ROUNDS * len(PERIODS)})"]
    for k, r in list(lat.items()) + [("load", load), ("idle", idle)]:
        if isinstance(r, dict) and r.get("stop_note"):
            notes.append(f"{k}: {r['stop_note']}")
    lat_rows = [[f"{p} ms", r["rounds"], ms(r["median_ms"]), ms(r["p90_ms"]),
                 ms(r["max_ms"])] for p, r in lat.items() if isinstance(p, int)]
    cpu_rows = [[r["registrants"], r["secs"], ms(r["cpu_ms"]), ms(r["cpu_pct"]), r["ctxt_switches"],
                 ms(r["beaters_cpu_pct"]), r["missed"]] for r in (load, idle)]
    B.write_fragment(env, "heartbeat", {
        "title": "heartbeat: AHM registrations (--heartbeat-dir)", "latency": {str(k): v for k, v in lat.items()},
        "cpu": [load, idle], "notes": notes,
        "tables": [
            {"title": "deadline -> registrant dead of SIGKILL (misses=0), ms",
             "columns": ["period", "rounds", "median ms", "p90 ms", "max ms"], "rows": lat_rows},
            {"title": "respawn's CPU, registrants beating every 100 ms",
             "columns": ["registrants", "s", "respawn CPU ms", "respawn CPU %", "ctxt sw", "beaters CPU %", "missed"],
             "rows": cpu_rows},
        ]})


main()
