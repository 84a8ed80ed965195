#!/usr/bin/env python3
"""Figure 'acct': process accounting (respawn --acct) beside atopacctd.

(a) Records per second moved from the source to the shadow files. Each
    daemon (Debian's /usr/sbin/atopacctd, then respawn --acct) runs on a top
    directory of its own, with one client registered on its public semaphore
    as atop registers (semaphore 1 taken, semaphore 0 decremented with
    SEM_UNDO, semaphore 1 given back) and holding a read lock on byte 0 of
    each shadow file as atop does. A burst of ACCT_N (20000) short processes
    (bench/forkstorm.c: vfork, the child exits at once) is timed from its
    start until all ACCT_N records (ppid = the storm's pid) are in the shadow
    files, or until the last that came when none came for 3 s (atopacctd
    reads 250 records a wake-up, and loses those the kernel appends between
    its last read and its truncation of the source); missing and duplicated
    records are counted, and records/s is of those that came.
(b) respawn latency, kill -> replacement exec'd (as 'latency' measures it),
    of one server under a respawn without --acct and one with, ROUNDS rounds
    interleaved (each first in every other round). Target: on within 1.05x
    of off.

respawn --acct is checked to have become the daemon (DIR/pacct_shadow.d/current
written, the private semaphore raised) before anything is measured: a respawn
that takes the flag but runs no accounting task is an error, not a figure.
The figure holds /run/respawn-acct-test.lock (the tests' lock: there is one
kernel accounting) and switches accounting off at its end.

env: STAMP, RESPAWN, BENCH_TMP, FRAG_DIR, ROUNDS (20), FORKSTORM (built by
run.sh), ACCT_N (20000), see benchlib.Env.
"""
import ctypes
import fcntl
import glob
import os
import re
import signal
import struct
import subprocess
import time

import benchlib as B

env = B.setup("acct")
ROOT = os.path.join(env.tmp, "acct")
FORKSTORM = os.environ.get("FORKSTORM", "")
N = int(os.environ.get("ACCT_N", "20000"))
STALL = 3.0  # seconds without a new record in the shadow files: the rest is lost
LIVED = 1.25  # seconds a server lives before it is killed (respawn's --interval=1)
ATOPACCTD = "/usr/sbin/atopacctd"
ATOPACCTD_PID = "/run/atopacctd.pid"
LOCK = "/run/respawn-acct-test.lock"
PUBKEY, PRVKEY = 1071980, 1071979
SEM_UNDO, GETVAL = 0x1000, 12
REC = 64  # struct acct_v3
NOT_DAEMON = ("respawn --acct did not become the accounting daemon within 10 s (no pacct_shadow.d/current, "
              "or the private semaphore not raised): is the acct task in this build?")

libc = ctypes.CDLL(None, use_errno=True)


class Sembuf(ctypes.Structure):
    _fields_ = [("num", ctypes.c_ushort), ("op", ctypes.c_short), ("flg", ctypes.c_short)]


def semop(sid, *ops):
    arr = (Sembuf * len(ops))(*[Sembuf(n, o, f) for n, o, f in ops])
    if libc.semop(sid, arr, len(ops)) != 0:
        raise OSError(ctypes.get_errno(), "semop")


def sem_value(key, n):
    """Semaphore n of the set key, or None if there is no such set."""
    sid = libc.semget(key, 0, 0)
    if sid < 0:
        return None
    return libc.semctl(sid, n, GETVAL, 0)


def acct_off():
    libc.acct(None)


class Client:
    """One atop client: registered on the public semaphore, a read lock on
    byte 0 of every shadow file it opened."""

    def __init__(self, top):
        self.shadow = os.path.join(top, "pacct_shadow.d")
        self.sid = libc.semget(PUBKEY, 2, 0)
        if self.sid < 0:
            raise OSError(ctypes.get_errno(), "semget of the public semaphore")
        semop(self.sid, (1, -1, SEM_UNDO), (0, -1, SEM_UNDO))
        semop(self.sid, (1, +1, SEM_UNDO))
        self.files, self.seen, self.dups = {}, set(), 0

    def poll(self, ppid):
        """Reads what is new in the shadow files; counts the records of
        children of ppid."""
        for path in sorted(glob.glob(os.path.join(self.shadow, "*.paf"))):
            if path not in self.files:
                f = open(path, "rb")
                fcntl.lockf(f, fcntl.LOCK_SH, 1, 0)
                self.files[path] = [f, b""]
            f, carry = self.files[path]
            b = carry + f.read()
            whole = len(b) - len(b) % REC
            for off in range(0, whole, REC):
                pid, pp = struct.unpack_from("=II", b, off + 16)
                if pp == ppid:
                    if pid in self.seen:
                        self.dups += 1
                    self.seen.add(pid)
            self.files[path][1] = b[whole:]
        return len(self.seen)

    def close(self):
        for f, _ in self.files.values():
            f.close()
        try:
            semop(self.sid, (0, +1, SEM_UNDO))
        except OSError:
            pass  # the daemon removed the set: its undo went with it


def top_dir(name):
    d = os.path.join(ROOT, name)
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o755)
    return d


def wait_daemon(top, alive, timeout=10.0):
    """True once the daemon on top runs: current written, the private
    semaphore raised."""
    current = os.path.join(top, "pacct_shadow.d", "current")
    end = time.monotonic() + timeout
    while time.monotonic() < end and alive():
        if os.path.exists(current) and (sem_value(PRVKEY, 0) or 0) > 0:
            return True
        time.sleep(0.01)
    return False


def start_atopacctd(top):
    try:
        os.remove(ATOPACCTD_PID)  # a stale one: the private semaphore says none runs
    except FileNotFoundError:
        pass
    with open(os.path.join(top, "..", "atopacctd.err"), "wb") as err:
        r = subprocess.run([ATOPACCTD, top], stdin=subprocess.DEVNULL, stdout=err, stderr=err, timeout=30)
    try:
        with open(ATOPACCTD_PID) as f:
            pid = int(f.read().strip())
    except (OSError, ValueError):
        return None, f"atopacctd did not start (exit {r.returncode}): {B.tail(os.path.join(ROOT, 'atopacctd.err'))}"
    if not wait_daemon(top, lambda: B.alive(pid)):
        return pid, "atopacctd did not set up its directory within 10 s"
    return pid, None


def start_respawn(top, logp, extra=()):
    args = env.respawn_cmd(os.path.dirname(top)) + ["--acct", f"--acct-dir={top}"] + list(extra)
    proc = B.popen(args + ["{", "sleep", "1000000", "}"], os.path.dirname(top), logp)
    if not wait_daemon(top, lambda: B.alive(proc.pid)):
        return proc, NOT_DAEMON + f" (its log: {logp})"
    return proc, None


def burst(client):
    """Runs the storm; returns (storm seconds, seconds until its last record
    seen was in the shadow files, records seen) or an error string. Once the
    storm has ended, a process ends every 100 ms (as on any live machine) to
    wake a daemon that waits for an exit; the wait ends when all N are there
    or none came for STALL seconds."""
    t0 = time.monotonic()
    storm = subprocess.Popen([FORKSTORM, "fork", str(N)], stdout=subprocess.PIPE, text=True)
    seen, last, nudged = 0, t0, t0
    while seen < N and time.monotonic() < t0 + 120:
        now = time.monotonic()
        if storm.poll() is not None and now - last > STALL:
            break
        if storm.returncode is not None and now - nudged > 0.1:
            subprocess.run([FORKSTORM])
            nudged = now
        n = client.poll(storm.pid)
        if n > seen:
            seen, last = n, time.monotonic()
        time.sleep(0.002)
    out, _ = storm.communicate(timeout=60)
    m = re.search(r"secs=([\d.]+)", out)
    if storm.returncode != 0 or not m:
        return f"forkstorm failed: {storm.returncode} {out}"
    if seen == 0:
        return f"no record of the burst in the shadow files"
    return float(m.group(1)), last - t0, seen


def rate_row(name, start, stop):
    top = top_dir(name)
    handle, err = start(top)
    row = {}
    try:
        if err:
            row["error"] = err
            return row
        client = Client(top)
        try:
            r = burst(client)
        finally:
            client.close()
        if isinstance(r, str):
            row["error"] = r
            return row
        storm_s, done_s, seen = r
        row.update(records=seen, storm_s=storm_s, all_in_shadow_s=done_s,
                   records_per_s=seen / done_s, missing=N - seen, duplicates=client.dups)
        return row
    finally:
        stop(handle, row)
        acct_off()


def stop_atopacctd(pid, row):
    if pid is None:
        return
    B.kill(pid, signal.SIGTERM)
    if B.wait_exit(pid, 10.0) is None:
        row["stop_note"] = "atopacctd did not exit within 10 s of SIGTERM"
        B.kill(pid)


def rates():
    rows = {}
    if not os.access(ATOPACCTD, os.X_OK):
        rows["atopacctd"] = {"skipped": f"{ATOPACCTD} not installed (apt-get install atop)"}
    else:
        B.log(f"atopacctd: a burst of {N}")
        rows["atopacctd"] = rate_row("atopacctd", start_atopacctd, stop_atopacctd)
    if not env.respawn_ok():
        rows["respawn --acct"] = {"skipped": f"{env.respawn} not built"}
    else:
        B.log(f"respawn --acct: a burst of {N}")
        logp = os.path.join(ROOT, "respawn-rate.log")
        rows["respawn --acct"] = rate_row("respawn", lambda top: start_respawn(top, logp),
                                          lambda p, row: B.stop_respawn(p.pid, row, grace=5.0))
    return rows


class Server:
    """One respawn with the probe as its server, with or without --acct."""

    def __init__(self, name, acct):
        self.root = os.path.join(ROOT, name)
        (self.d,) = B.make_services(self.root, 1, env.stamp, shared_stamps=False)
        self.st = B.Stamps(os.path.join(self.d, "stamps"))
        self.logp = os.path.join(self.root, "respawn.log")
        args = env.respawn_cmd(self.root)
        if acct:
            top = top_dir(name + "-top")
            args += ["--acct", f"--acct-dir={top}"]
        self.proc = B.popen(args + ["{", "./run", "}"], self.d, self.logp)
        self.lat, self.error, self.row = [], None, {}
        if acct and not wait_daemon(top, lambda: B.alive(self.proc.pid)):
            self.error = NOT_DAEMON + f" (its log: {self.logp})"
        elif not self.st.wait_count(1, 15, alive=lambda: B.alive(self.proc.pid)):
            self.error = "server never started: " + B.tail(self.logp)

    def kill(self, i):
        pid, _ = self.st.lines[-1]
        n = len(self.st.lines)
        t0 = time.time_ns()
        os.kill(pid, signal.SIGKILL)
        if not self.st.wait_count(n + 1, 10, alive=lambda: B.alive(self.proc.pid)):
            self.error = f"round {i}: not restarted within 10 s: {B.tail(self.logp)}"
            return
        self.lat.append((self.st.lines[n][1] - t0) / 1e6)
        B.reap()

    def close(self):
        """SIGTERM to respawn; a note if it did not exit within 5 s or left
        its probe running (the other respawn's is not its)."""
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
    if not env.respawn_ok():
        return {"off": {"skipped": f"{env.respawn} not built"}}
    B.log(f"respawn latency, --acct off and on: {env.rounds} rounds")
    svc = [Server("off", False)]
    try:
        svc.append(Server("on", True))
        for i in range(env.rounds):
            if any(x.error for x in svc):
                break
            newest = max(x.st.lines[-1][1] for x in svc)
            age = (time.time_ns() - newest) / 1e9
            if age < LIVED:
                time.sleep(LIVED - age)
            for x in (svc if i % 2 == 0 else reversed(svc)):
                x.kill(i)
    finally:
        rows = [x.close() for x in svc]
        B.kill_descendants()
        if len(rows) == 2 and rows[1].get("error") and not rows[0].get("rounds"):
            rows[0]["skipped"] = "not measured: the --acct row failed"
        acct_off()
    return dict(zip(("off", "on"), rows))


def fmt_rate(name, r):
    if "records_per_s" not in r:
        return [name, r.get("error") or r.get("skipped") or "-", None, None, None, None, None]
    return [name, r["records"], r["storm_s"], r["all_in_shadow_s"], round(r["records_per_s"]),
            r["missing"], r["duplicates"]]


def fmt_lat(name, r):
    if "median_ms" not in r:
        return [name, r.get("error") or r.get("skipped") or "-", None, None, None]
    return [name, r["median_ms"], r["p90_ms"], r["max_ms"], r["rounds"]]


def main():
    os.makedirs(ROOT, exist_ok=True)
    lock = open(LOCK, "a")
    os.chmod(LOCK, 0o600)
    fcntl.flock(lock, fcntl.LOCK_EX)
    if (sem_value(PRVKEY, 0) or 0) > 0:
        B.write_fragment(env, "acct", {"status": "skipped: an atopacctd (or a respawn --acct) runs on this machine"})
        return
    try:
        rate = rates()
        lat = latency()
    finally:
        acct_off()
        lock.close()
    notes, status = [], "ok"
    off, on = lat.get("off", {}).get("median_ms"), lat.get("on", {}).get("median_ms")
    if off and on:
        x = on / off
        status = f"latency with --acct {x:.2f}x without ({'ok' if x <= 1.05 else 'MISSED'}: target 1.05x)"
    for name, r in list(rate.items()) + [("latency " + k, v) for k, v in lat.items()]:
        for k in ("error", "skipped", "stop_note"):
            if r.get(k):
                notes.append(f"{name}: {k}: {r[k]}")
    B.write_fragment(env, "acct", {
        "title": f"process accounting: records moved to the shadow files (a burst of {N}, one client), "
                 f"and respawn latency with --acct",
        "n": N, "rate": rate, "latency": lat, "status": status, "notes": notes,
        "tables": [
            {"title": "records from source to shadow files",
             "columns": ["daemon", "records", "burst s", "all in shadow s", "records/s", "missing", "dups"],
             "rows": [fmt_rate(k, v) for k, v in rate.items()]},
            {"title": "respawn kill->exec latency, ms",
             "columns": ["respawn", "median", "p90", "max", "rounds"],
             "rows": [fmt_lat("--acct " + k, v) for k, v in lat.items()]},
        ]})


main()
