#!/usr/bin/env python3
"""Soak: one respawn under everything at once, for SOAK_SECONDS (600).

respawn supervises 50 crash-loopers (`sh -c 'sleep 0.05; exit 1'`, respawned
since --interval=20ms is shorter than their life) and SOAK_LONG (200) long
servers (the stamp probe: it appends "pid realtime_ns" to one shared file and
pauses; its ignored second argument longN names the server). While it runs:
  - a flooder process sends respawn SIGUSR1 every SOAK_FLOOD_MS (1) ms;
  - a live upgrade (SIGHUP) every second;
  - SOAK_CLIENTS (10) control clients ask `list` in a loop on the socket;
  - respawn's stdout and stderr are one pipe whose reader stalls for
    SOAK_STALL (3) s, then drains for 1 s, in turn;
  - the latency probe SIGKILLs one long server every 200 ms and takes the
    time from the kill to its replacement's stamp (its exec), as
    bench/latency.py does;
  - respawn's RSS, open fds and generation are sampled every second.
At the end every long server (long0..longN-1) must be alive just before the
stop, by pid in /proc, a child of respawn; respawn is stopped with SIGTERM and must exit
within 30 s, and no process it started may be left, running or zombie.

Exit status 0 if nothing was lost or left, 1 otherwise. A summary table goes
to stdout; SOAK_JSON, if set, gets the figures as JSON. Run as root (make
soak). Everything started is killed by pid; the run is bounded by
SOAK_SECONDS + 150 s.

env: RESPAWN (bin/respawn), STAMP (built from bench/stamp.c if unset),
BENCH_TMP, SOAK_SECONDS, SOAK_LONG, SOAK_LOOPERS (50), SOAK_CLIENTS,
SOAK_FLOOD_MS, SOAK_STALL, SOAK_JSON.
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
E = os.environ
SECONDS = float(E.get("SOAK_SECONDS", "600"))
LONG = int(E.get("SOAK_LONG", "200"))
LOOPERS = int(E.get("SOAK_LOOPERS", "50"))
CLIENTS = int(E.get("SOAK_CLIENTS", "10"))
FLOOD = float(E.get("SOAK_FLOOD_MS", "1")) / 1000
STALL = float(E.get("SOAK_STALL", "3"))
KILL_EVERY = 0.2
UPGRADE_EVERY = float(E.get("SOAK_UPGRADE_EVERY", "1"))
REPLACE_TIMEOUT = 10.0
STOP_TIMEOUT = 30.0


def prepare_env():
    """BENCH_TMP and STAMP, as bench/run.sh would set them."""
    if not E.get("BENCH_TMP"):
        E["BENCH_TMP"] = tempfile.mkdtemp(prefix="respawn-soak.")
    if not E.get("STAMP"):
        stamp = os.path.join(E["BENCH_TMP"], "stamp")
        src = os.path.join(HERE, "stamp.c")
        if subprocess.run(["gcc", "-static", "-O2", "-o", stamp, src], stderr=subprocess.DEVNULL).returncode:
            subprocess.run(["gcc", "-O2", "-o", stamp, src], check=True)
        E["STAMP"] = stamp


prepare_env()
import benchlib as B  # noqa: E402  (reads STAMP and BENCH_TMP)

env = B.setup("soak")
ROOT = os.path.join(env.tmp, "soak")


# ---------------------------------------------------------------- helpers

def child(fn, *args):
    """Run fn(*args) in a forked process that ends when fn returns."""
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            fn(*args)
        except BaseException:
            code = 1
        os._exit(code)
    return pid


def reap_pid(pid, timeout):
    """Wait for our child pid only (no other child is reaped); its status or None."""
    end = time.monotonic() + timeout
    while True:
        try:
            p, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return B.EXITED.get(pid)
        if p == pid:
            B.EXITED[pid] = status
            return status
        if time.monotonic() > end:
            return None
        time.sleep(0.01)


def stat(pid):
    """(ppid, state letter) of pid, or (None, None)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
        f = s[s.rfind(")") + 2:].split()
        return int(f[1]), f[0]
    except (OSError, ValueError, IndexError):
        return None, None


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def fd_count(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


def ask(sock_path, cmd, timeout):
    """One control request; the decoded answer, or None."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(sock_path)
            s.sendall(json.dumps({"cmd": cmd}).encode() + b"\n")
            buf = b""
            while not buf.endswith(b"\n"):
                b = s.recv(1 << 20)
                if not b:
                    break
                buf += b
        return json.loads(buf)
    except (OSError, ValueError):
        return None


# ---------------------------------------------------------------- the load

def flooder(pid, until):
    while time.monotonic() < until:
        try:
            os.kill(pid, signal.SIGUSR1)
        except ProcessLookupError:
            return
        time.sleep(FLOOD)


def control_client(sock_path, until, out_fd):
    counts = {"ok": 0, "busy": 0, "failed": 0}
    while time.monotonic() < until:
        ans = ask(sock_path, "list", 6)
        if ans is None:
            counts["failed"] += 1
            time.sleep(0.05)
        elif ans.get("ok"):
            counts["ok"] += 1
        elif ans.get("code") == "busy":
            counts["busy"] += 1
        else:
            counts["failed"] += 1
    os.write(out_fd, (json.dumps(counts) + "\n").encode())


# "respawn: N log lines dropped", or respawn's log line with a dropped=N
# (text) or "dropped":N (json) attribute after the message.
DROPPED_RE = re.compile(rb"(\d+)\D{0,20}log lines? dropped|dropped\D{0,3}(\d+)\D{0,10}log lines?"
                        rb"|log lines? dropped\D{1,20}dropped\D{1,3}(\d+)")


def reader(rfd, until, out_fd, hard_end):
    """Read respawn's output in bursts until `until` (stalled STALL s, then
    drained for 1 s), then drain it to its end (or hard_end)."""
    os.set_blocking(rfd, False)
    st = {"bytes": 0, "lines": 0, "upgraded": 0, "dump_lines": 0, "drop_notices": 0, "dropped": 0, "stalls": 0}
    carry = b""

    def take(data):
        nonlocal carry
        st["bytes"] += len(data)
        data = carry + data
        cut = data.rfind(b"\n") + 1
        carry = data[cut:]
        data = data[:cut]
        st["lines"] += data.count(b"\n")
        st["upgraded"] += data.count(b"respawn upgraded")
        st["dump_lines"] += data.count(b"info dump")
        for line in data.splitlines():
            if b"dropped" in line and b"log line" in line:
                st["drop_notices"] += 1
                m = DROPPED_RE.search(line)
                if m:
                    st["dropped"] += int(m.group(1) or m.group(2) or m.group(3))

    def drain(until_t):
        while time.monotonic() < until_t:
            try:
                b = os.read(rfd, 1 << 20)
            except BlockingIOError:
                time.sleep(0.002)
                continue
            if not b:
                return False
            take(b)
        return True

    while time.monotonic() < until:
        time.sleep(min(STALL, max(0, until - time.monotonic())))
        st["stalls"] += 1
        if not drain(min(until, time.monotonic() + 1)):
            break
    drain(hard_end)
    os.write(out_fd, (json.dumps(st) + "\n").encode())


# ---------------------------------------------------------------- the run

class Long:
    """The long servers, from the shared stamps file: pid -> stamp ns."""

    def __init__(self, path):
        self.st = B.Stamps(path)
        self.pids = {}

    def poll(self):
        new = self.st.poll()
        for pid, ns in new:
            self.pids[pid] = ns
        return new


def start_respawn(stamps, sock):
    args = [env.respawn, "--interval=20ms", "--log-format=json", f"--control={sock}"]
    for _ in range(LOOPERS):
        args += ["{", "sh", "-c", "sleep 0.05; exit 1", "}"]
    for i in range(LONG):  # the probe ignores its second argument: it names the server
        args += ["{", env.stamp, stamps, f"long{i}", "}"]
    rfd, wfd = os.pipe()
    proc = subprocess.Popen(args, cwd=ROOT, start_new_session=True, stdin=subprocess.DEVNULL,
                            stdout=wfd, stderr=wfd, close_fds=True)
    os.close(wfd)
    return proc, rfd


def latency_round(long, rpid, state, lat, misses):
    """One step of the latency probe (called every few ms)."""
    now = time.monotonic()
    new = long.poll()
    if state.get("victim"):
        for pid, ns in new:
            if pid != state["victim"]:
                lat.append((ns - state["t0"]) / 1e6)
                state.clear()
                state["next"] = now + KILL_EVERY
                return
        if now - state["sent"] > REPLACE_TIMEOUT:
            misses.append(state["victim"])
            state.clear()
            state["next"] = now
        return
    if now < state.get("next", 0):
        return
    for pid in list(long.pids):
        ppid, s = stat(pid)
        if ppid != rpid or s in ("Z", "X", None):
            del long.pids[pid]
            continue
        state.update(victim=pid, t0=time.time_ns(), sent=now)
        os.kill(pid, signal.SIGKILL)
        del long.pids[pid]
        return


def run():
    os.makedirs(ROOT, exist_ok=True)
    stamps, sock = os.path.join(ROOT, "stamps"), os.path.join(ROOT, "control.sock")
    open(stamps, "w").close()
    proc, rfd = start_respawn(stamps, sock)
    rpid = proc.pid
    long = Long(stamps)
    t_start = time.monotonic()
    until = t_start + SECONDS
    res = {"seconds": SECONDS, "long": LONG, "loopers": LOOPERS, "clients": CLIENTS}

    out_r, out_w = os.pipe()
    helpers = {"reader": child(reader, rfd, until, out_w, until + STOP_TIMEOUT + 10)}
    os.close(rfd)
    up = time.monotonic() + 30
    while len(long.pids) < LONG and time.monotonic() < up and reap_pid(rpid, 0) is None:
        long.poll()
        time.sleep(0.01)
    res["started_long"] = len(long.pids)
    if len(long.pids) < LONG:
        res["error"] = f"only {len(long.pids)} of {LONG} long servers started within 30 s"
        return finish(res, proc, helpers, out_r, out_w, long)
    B.log(f"respawn pid {rpid}: {LONG} long servers up; soaking for {SECONDS:g} s")
    helpers["flooder"] = child(flooder, rpid, until)
    for i in range(CLIENTS):
        helpers[f"client{i}"] = child(control_client, sock, until, out_w)

    lat, misses, state, samples = [], [], {}, []
    next_up = next_sample = time.monotonic() + 1
    while time.monotonic() < until and reap_pid(rpid, 0) is None:
        latency_round(long, rpid, state, lat, misses)
        now = time.monotonic()
        if now >= next_up:
            os.kill(rpid, signal.SIGHUP)
            next_up += UPGRADE_EVERY
        if now >= next_sample:
            next_sample += 1
            samples.append({"t": round(now - t_start, 1), "rss_kb": rss_kb(rpid), "fds": fd_count(rpid)})
        time.sleep(0.001)
    # Let the last kill's replacement come before counting the living.
    end = time.monotonic() + REPLACE_TIMEOUT
    while state.get("victim") and time.monotonic() < end:
        latency_round(long, rpid, state, lat, misses)
        time.sleep(0.001)
    res.update(latency_ms=lat, misses=len(misses), kills=len(lat) + len(misses), samples=samples)
    return finish(res, proc, helpers, out_r, out_w, long)


def check_long(res, rpid, long):
    """Every long server is alive, by pid, a child of respawn."""
    long.poll()
    d = ask(os.path.join(ROOT, "control.sock"), "dump", 10)
    if d and d.get("ok"):
        res["generation"] = d["dump"].get("generation")
        res["counts"] = d["dump"].get("counts")
    alive = set()
    for pid in B.descendants(rpid, include_root=False):
        ppid, st = stat(pid)
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if ppid == rpid and st not in ("Z", "X") and len(argv) > 2 and argv[2].startswith(b"long"):
            alive.add(argv[2])
    res["long_alive"] = len(alive)
    res["lost"] = LONG - len(alive)
    # Every start of a long server is a stamp: the first LONG, one per kill,
    # and any other is a death nobody asked for.
    res["unasked_restarts"] = len(long.st.lines) - LONG - res.get("kills", 0)


def finish(res, proc, helpers, out_r, out_w, long):
    rpid = proc.pid
    for name, pid in helpers.items():  # the load ends by its own deadline
        if name != "reader" and reap_pid(pid, 10) is None:
            B.kill(pid)
            reap_pid(pid, 5)
    time.sleep(0.5)  # a replacement under way
    if reap_pid(rpid, 0) is None:
        check_long(res, rpid, long)
    t0 = time.monotonic()
    B.kill(rpid, signal.SIGTERM)
    status = reap_pid(rpid, STOP_TIMEOUT)
    res["stop_s"] = round(time.monotonic() - t0, 2)
    res["exit"] = B.describe_status(status) if status is not None else f"did not exit within {STOP_TIMEOUT:g} s"
    time.sleep(0.2)
    # Whatever respawn started and left, running or a zombie, is now ours:
    # we are a subreaper. Only our own helpers may be there.
    ours = [p for p in B.descendants(os.getpid(), include_root=False) if p not in helpers.values()]
    res["zombies"] = sorted(p for p in ours if stat(p)[1] in ("Z", "X"))
    res["leftover"] = sorted(p for p in ours if stat(p)[1] not in ("Z", "X", None))
    for p in res["leftover"]:
        B.kill(p)
    if reap_pid(helpers["reader"], 15) is None:
        B.kill(helpers["reader"])
        reap_pid(helpers["reader"], 5)
    os.close(out_w)
    for line in os.fdopen(out_r, "rb").read().splitlines():
        d = json.loads(line)
        if "stalls" in d:
            res["output"] = d
        else:
            for k, v in d.items():
                res.setdefault("control", {}).setdefault(k, 0)
                res["control"][k] += v
    B.kill_descendants()
    return res


# ---------------------------------------------------------------- report

def report(res):
    rows = []

    def row(k, v):
        rows.append((k, v))
    row("duration", f"{res['seconds']:g} s; {res['long']} long servers, {res['loopers']} crash-loopers, "
        f"{res['clients']} control clients, SIGUSR1 every {FLOOD * 1000:g} ms, SIGHUP every {UPGRADE_EVERY:g} s")
    if "error" in res:
        row("error", res["error"])
    lat = res.get("latency_ms") or []
    if lat:
        row("respawn latency", f"p50 {B.pct(lat, .5):.2f} ms  p90 {B.pct(lat, .9):.2f}  "
            f"p99 {B.pct(lat, .99):.2f}  max {max(lat):.2f}  ({len(lat)} kills)")
    row("kills not replaced", f"{res.get('misses', 0)} (within {REPLACE_TIMEOUT:g} s)")
    s = res.get("samples") or []
    for key, unit, div in (("rss_kb", "MB", 1024), ("fds", "", 1)):
        v = [x[key] for x in s if x[key] is not None]
        if v:
            pts = " ".join(f"{x[key] / div:.4g}" for x in s[::max(1, len(s) // 10)] if x[key] is not None)
            row(f"respawn {key.split('_')[0]}", f"min {min(v) / div:.4g}{unit}  max {max(v) / div:.4g}{unit}  "
                f"last {v[-1] / div:.4g}{unit}  (every ~{max(1, len(s) // 10)} s: {pts})")
    gen = res.get("generation")
    row("upgrades done", f"{gen if gen is not None else '?'} by the generation; "
        f"{res.get('output', {}).get('upgraded', '?')} 'respawn upgraded' lines read")
    c = res.get("control", {})
    row("control lists", f"{c.get('ok', 0)} answered, {c.get('busy', 0)} busy, {c.get('failed', 0)} failed")
    o = res.get("output", {})
    row("output read", f"{o.get('bytes', 0) / 1e6:.1f} MB, {o.get('lines', 0)} lines, {o.get('dump_lines', 0)} "
        f"dump lines, in {o.get('stalls', 0)} bursts; {o.get('drop_notices', 0)} dropped-log notices "
        f"({o.get('dropped', 0)} lines dropped)")
    row("long servers alive at the end", f"{res.get('long_alive', '?')} of {res['long']} by pid, children of respawn "
        f"(lost: {res.get('lost', '?')}; restarted without a kill: {res.get('unasked_restarts', '?')})")
    row("stop", f"{res.get('exit', '?')} after {res.get('stop_s', '?')} s")
    for key, what in (("zombies", "zombies left"), ("leftover", "processes left")):
        v = res.get(key, [])
        row(what, f"{len(v)}" + (f" (pids {v[:10]})" if v else ""))
    w = max(len(k) for k, _ in rows)
    print(f"\nrespawn soak ({os.uname().release}, {os.cpu_count()} CPUs)")
    for k, v in rows:
        print(f"  {k:<{w}}  {v}")
    if E.get("SOAK_JSON"):
        with open(E["SOAK_JSON"], "w") as f:
            json.dump(res, f, indent=1)


def main():
    if not env.respawn_ok():
        B.die(f"{env.respawn} is not built (make build)")
    signal.signal(signal.SIGALRM, lambda *_: (B.log("soak overran its bound: cleaning up"), sys.exit(3)))
    signal.alarm(int(SECONDS) + 150)
    res = run()
    signal.alarm(0)
    report(res)
    bad = res.get("error") or res.get("lost") or res.get("zombies") or res.get("leftover") \
        or "did not exit" in res.get("exit", "") or res.get("misses")
    sys.exit(1 if bad else 0)


main()
