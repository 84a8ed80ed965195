"""Shared helpers of the bench/ figure scripts (standard library only).

Every figure script:
  - calls setup(name) first: it makes the script a child subreaper, so that
    every process it starts, and every orphan of those, stays its descendant;
    at exit (normal, exception, SIGINT, SIGTERM) every descendant is SIGKILLed
    by pid and reaped;
  - reads its parameters from the environment (see Env);
  - writes its figures with write_fragment(): FRAG_DIR/<name>.json, which
    bench/summary.py turns into the final table.

Systems are named by a short key everywhere (SYSTEM_NAMES).
"""
import atexit
import ctypes
import json
import math
import os
import re
import resource
import shutil
import signal
import statistics
import sys
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")

# Row order and display names used by every figure and by summary.py.
SYSTEM_NAMES = {
    "floor": "bare spawn (floor)",
    "respawn": "respawn (this project)",
    "daemontools": "daemontools supervise",
    "runit": "runit runsv",
    "s6": "s6-supervise",
    "supervisord": "supervisord",
}
# Programs a peer needs, per figure kind: single service / scan directory.
PEER_PROGRAMS = {
    "daemontools": ("supervise", "svscan"),
    "runit": ("runsv", "runsvdir"),
    "s6": ("s6-supervise", "s6-svscan"),
    "supervisord": ("supervisord", "supervisord"),
}


class Env:
    """Parameters, from the environment that bench/run.sh sets."""

    def __init__(self):
        e = os.environ
        here = os.path.dirname(os.path.abspath(__file__))
        self.stamp = e.get("STAMP", "")
        self.respawn = e.get("RESPAWN") or os.path.join(os.path.dirname(here), "bin", "respawn")
        self.tmp = e.get("BENCH_TMP") or "/tmp/respawn-bench"
        self.frag_dir = e.get("FRAG_DIR") or self.tmp
        self.rounds = int(e.get("ROUNDS", "20"))
        self.n = int(e.get("N", "500"))
        self.idle_secs = float(e.get("IDLE_SECS", "10"))
        self.only = [w for w in e.get("SYSTEMS", "").split(",") if w]
        if not self.stamp or not os.access(self.stamp, os.X_OK):
            die(f"STAMP={self.stamp!r} is not an executable probe (bench/run.sh builds it)")

    def wanted(self, key):
        return not self.only or key in ("floor",) or any(w in key for w in self.only)

    def respawn_ok(self):
        return os.access(self.respawn, os.X_OK)

    def respawn_cmd(self, root):
        """respawn as the figures run it: --interval=1 (a service that lived 1 s
        is restarted), its control socket in the bench's directory rather than
        the default /run/respawn/control.sock (which another respawn may own)."""
        return [self.respawn, "--interval=1", f"--control={root}/control.sock"]

    def peer_ok(self, key, kind):
        """kind 0: single-service supervisor, 1: scan-directory supervisor."""
        return shutil.which(PEER_PROGRAMS[key][kind]) is not None


FIGURE = "bench"


def log(msg):
    print(f"[{FIGURE}] {msg}", file=sys.stderr, flush=True)


def die(msg):
    log(msg)
    sys.exit(2)


# ---------------------------------------------------------------- processes

EXITED = {}  # pid -> wait status, of every child this process reaped


def reap():
    """Reap every child that has exited (orphans included: we are a subreaper)."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        EXITED[pid] = status


def alive(pid):
    """Whether our child pid has not exited yet (reaping every child that has)."""
    reap()
    return pid not in EXITED


def wait_exit(pid, timeout):
    """Wait until child pid has been reaped; returns its wait status or None."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        reap()
        if pid in EXITED:
            return EXITED[pid]
        time.sleep(0.005)
    return None


def describe_status(status):
    if status is None:
        return "still running"
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        return f"killed by {signal.Signals(sig).name}"
    return f"exit {os.WEXITSTATUS(status)}"


def proc_table():
    """pid -> ppid of every process."""
    t = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/stat") as f:
                s = f.read()
            t[int(p)] = int(s[s.rfind(")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            pass
    return t


def descendants(root, table=None, include_root=True):
    table = proc_table() if table is None else table
    kids = {}
    for pid, ppid in table.items():
        kids.setdefault(ppid, []).append(pid)
    out, todo = [], [root]
    while todo:
        q = todo.pop()
        out.append(q)
        todo += kids.get(q, [])
    return out if include_root else out[1:]


def exe(pid):
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return None


def is_zombie(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
        return s[s.rfind(")") + 2] in "ZX"
    except OSError:
        return True


_TMP = None


def is_probe(pid):
    """A probe (service) started by this bench: its executable lives under BENCH_TMP."""
    e = exe(pid)
    return e is not None and _TMP is not None and e.startswith(_TMP + "/")


def kill(pid, sig=signal.SIGKILL):
    try:
        os.kill(pid, sig)
        return True
    except ProcessLookupError:
        return False


def kill_descendants(timeout=10.0):
    """SIGKILL every descendant of this process, by pid, supervisors before
    services, until none is left; reap them. Returns how many were killed."""
    me = os.getpid()
    killed = set()
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        reap()
        live = [p for p in descendants(me, include_root=False) if not is_zombie(p)]
        if not live:
            break
        live.sort(key=is_probe)  # supervisors first, so they restart nothing
        for p in live:
            if kill(p):
                killed.add(p)
        time.sleep(0.01)
    reap()
    return len(killed)


def stop_supervisor(pid, graceful_sig=signal.SIGTERM, grace=3.0):
    """Stop one supervisor tree started by us: send graceful_sig (if any) and wait
    up to `grace` s for it to exit; then note what it left behind, and SIGKILL every
    remaining descendant by pid. Returns (status, probes_left_after_graceful_exit)."""
    left = None
    status = None
    if graceful_sig is not None and kill(pid, graceful_sig):
        status = wait_exit(pid, grace)
        if status is not None:
            time.sleep(0.05)
            left = [p for p in descendants(os.getpid(), include_root=False)
                    if not is_zombie(p) and is_probe(p)]
    kill_descendants()
    if status is None:
        status = EXITED.get(pid)
    return status, left


def stop_respawn(pid, row, grace=5.0):
    """stop_supervisor for respawn: SIGTERM, and a row["stop_note"] if it did not
    exit within grace s or left servers running."""
    status, left = stop_supervisor(pid, signal.SIGTERM, grace)
    if status is None:
        row["stop_note"] = f"did not exit within {grace:g} s of SIGTERM"
    elif left:
        row["stop_note"] = f"left {len(left)} server(s) running after SIGTERM"


def setup(name):
    """Become a child subreaper, raise the fd limit, clean up on any exit."""
    global FIGURE, _TMP
    FIGURE = name
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_CHILD_SUBREAPER = 36
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        log("warning: prctl(PR_SET_CHILD_SUBREAPER) failed; orphans may escape the cleanup")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        except (ValueError, OSError):
            pass
    env = Env()
    _TMP = os.path.realpath(env.tmp)
    os.makedirs(env.tmp, exist_ok=True)
    atexit.register(kill_descendants)

    def on_signal(sig, frame):
        log(f"got {signal.Signals(sig).name}: cleaning up")
        sys.exit(128 + sig)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    return env


def popen(args, cwd, log_path):
    """Start a supervisor in its own session, stdout+stderr appended to log_path."""
    import subprocess
    with open(log_path, "ab") as logf:
        return subprocess.Popen(args, cwd=cwd, start_new_session=True, stdin=subprocess.DEVNULL,
                                stdout=logf, stderr=logf, close_fds=True)


def tail(path, n=5):
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            f.seek(max(0, f.tell() - 4096))
            lines = f.read().decode(errors="replace").splitlines()
        return " | ".join(lines[-n:])
    except OSError:
        return ""


# ---------------------------------------------------------------- stamps

class Stamps:
    """Incremental reader of a stamps file: lines 'pid realtime_ns'."""

    def __init__(self, path):
        self.path = path
        self.fd = None
        self.off = 0
        self.partial = b""
        self.lines = []  # every (pid, ns) read so far

    def poll(self):
        """Read what was appended; returns the new (pid, ns) lines."""
        if self.fd is None:
            try:
                self.fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                return []
        new = []
        while True:
            b = os.pread(self.fd, 1 << 20, self.off)
            if not b:
                break
            self.off += len(b)
            b = self.partial + b
            *full, self.partial = b.split(b"\n")
            for l in full:
                if l.strip():
                    pid, ns = l.split()
                    new.append((int(pid), int(ns)))
        self.lines += new
        return new

    def wait_count(self, n, timeout, sleep=0.0005, alive=None):
        """Wait until at least n lines in total; returns True if so."""
        end = time.monotonic() + timeout
        while True:
            self.poll()
            if len(self.lines) >= n:
                return True
            if time.monotonic() > end or (alive is not None and not alive()):
                self.poll()
                return len(self.lines) >= n
            time.sleep(sleep)

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def make_services(root, n, stamp, shared_stamps=True):
    """n service directories root/svc/sNNNNN, each with a copy of the probe as
    `run`; its `stamps` is a symlink to root/stamps.all when shared_stamps
    (so that one file tells when all are up), and its `sNNNNN` a symlink to
    `stamps`. Returns the list of directories."""
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(os.path.join(root, "svc"))
    allp = os.path.join(root, "stamps.all")
    if shared_stamps:
        open(allp, "w").close()
    dirs = []
    for i in range(n):
        d = os.path.join(root, "svc", f"s{i:05d}")
        os.mkdir(d)
        shutil.copy(stamp, os.path.join(d, "run"))
        if shared_stamps:
            os.symlink(allp, os.path.join(d, "stamps"))
        # s6-supervise runs `./run NAME` where NAME is how it was given the
        # service directory (by s6-svscan: its relative name): let that path
        # lead to the stamps too. (An absolute NAME is a directory: the probe
        # then falls back to ./stamps.)
        os.symlink("stamps", os.path.join(d, os.path.basename(d)))
        dirs.append(d)
    return dirs


def supervisord_conf(root, dirs):
    conf = os.path.join(root, "supervisord.conf")
    with open(conf, "w") as f:
        f.write(f"[supervisord]\nnodaemon=true\nlogfile={root}/supervisord.log\n"
                f"pidfile={root}/supervisord.pid\nchildlogdir={root}\nminfds=16\n")
        for i, d in enumerate(dirs):
            f.write(f"[program:s{i}]\ncommand={d}/run\ndirectory={d}\nautorestart=true\n"
                    f"startsecs=0\nstartretries=1000\n")
    return conf


# ---------------------------------------------------------------- /proc figures

def smaps_kb(pids):
    rss = pss = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for l in f:
                    if l.startswith("Rss:"):
                        rss += int(l.split()[1])
                    elif l.startswith("Pss:"):
                        pss += int(l.split()[1])
        except OSError:
            pass
    return rss, pss


def cpu_sample(pids):
    """pid -> (ticks utime+stime of the whole thread group,
              ns of CPU of its live threads (schedstat), context switches of its live threads)."""
    out = {}
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                s = f.read()
            fields = s[s.rfind(")") + 2:].split()
            ticks = int(fields[11]) + int(fields[12])
            ns = sw = 0
            for t in os.listdir(f"/proc/{p}/task"):
                try:
                    with open(f"/proc/{p}/task/{t}/schedstat") as f:
                        ns += int(f.read().split()[0])
                    with open(f"/proc/{p}/task/{t}/status") as f:
                        for l in f:
                            if "ctxt_switches:" in l:
                                sw += int(l.split()[1])
                except OSError:
                    pass
            out[p] = (ticks, ns, sw)
        except OSError:
            pass
    return out


def cpu_delta(before, after):
    ticks = ns = sw = 0
    for p, a in after.items():
        b = before.get(p)
        if b is None:
            continue
        ticks += a[0] - b[0]
        ns += max(0, a[1] - b[1])
        sw += max(0, a[2] - b[2])
    return ticks, ns, sw


# ---------------------------------------------------------------- output

def pct(values, q):
    """Nearest-rank percentile."""
    v = sorted(values)
    return v[max(0, math.ceil(q * len(v)) - 1)]


def summary_ms(values):
    return {"median_ms": statistics.median(values), "p90_ms": pct(values, 0.9),
            "max_ms": max(values), "min_ms": min(values), "rounds": len(values)}


def write_fragment(env, name, data):
    data = dict(data, figure=name)
    os.makedirs(env.frag_dir, exist_ok=True)
    path = os.path.join(env.frag_dir, f"{name}.json")
    with open(path + ".tmp", "w") as f:
        json.dump(data, f, indent=1)
    os.replace(path + ".tmp", path)
    log(f"wrote {path}")


GEN_RE = re.compile(rb"generation[=:] *(\d+)")
SNAP_RE = re.compile(rb"snapshot_bytes[=:] *(\d+)")
