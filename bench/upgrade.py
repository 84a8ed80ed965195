#!/usr/bin/env python3
"""Figure 'upgrade': live upgrade (SIGHUP re-exec) time with N servers.

For each N in UPGRADE_NS (1,100,1000) respawn supervises N quiet probes. Once
all are up, the info dump (SIGUSR1, on stderr) gives the current generation
(`generation[=:] *N`). Each of UPGRADE_ROUNDS (5) upgrades: send SIGHUP, then
SIGUSR1 every millisecond until a dump shows a greater generation: that is the
time until the new image answers. Also checked: every server is still the same
process afterwards (no child lost, none restarted). The snapshot size is taken
from the output if respawn reports `snapshot_bytes[=:] *N`.

Without a generation in the dump, or when the generation has not risen within
UPGRADE_TIMEOUT (5) s of SIGHUP, the figure says "not available".

env: STAMP, RESPAWN, BENCH_TMP, FRAG_DIR, UPGRADE_NS, UPGRADE_ROUNDS,
UPGRADE_TIMEOUT.
"""
import os
import signal
import statistics
import time

import benchlib as B

env = B.setup("upgrade")
ROOT = os.path.join(env.tmp, "upgrade")
NS = [int(x) for x in os.environ.get("UPGRADE_NS", "1,100,1000").split(",") if x]
ROUNDS = int(os.environ.get("UPGRADE_ROUNDS", "5"))
TIMEOUT = float(os.environ.get("UPGRADE_TIMEOUT", "5"))
POLL = 0.001


class Output:
    """What respawn wrote to its stderr file since the last reset."""

    def __init__(self, path):
        self.path, self.off = path, 0
        self.fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        self.carry = b""

    def reset(self):
        os.truncate(self.path, 0)  # respawn's stderr is O_APPEND: it writes at the new end
        self.off, self.carry = 0, b""

    def new(self):
        """New bytes, with the last partial line of the previous call before them."""
        chunks = []
        while True:
            b = os.pread(self.fd, 1 << 20, self.off)
            if not b:
                break
            self.off += len(b)
            chunks.append(b)
        data = self.carry + b"".join(chunks)
        cut = data.rfind(b"\n") + 1
        self.carry = data[cut:]
        return data[:cut]


def max_gen(data):
    """The greatest generation that an info dump in data shows. Only dump lines
    count: a text dump's line starting with 'generation', or a line that says
    'info dump' (a JSON or log-record dump); not log records such as the old
    image's 'upgrading ... generation=N+1', written before the execve."""
    g = []
    for line in data.splitlines():
        if line.lstrip().startswith(b"generation") or b"info dump" in line:
            g += [int(m) for m in B.GEN_RE.findall(line)]
    return max(g) if g else None


def current_generation(proc, out, timeout=TIMEOUT):
    end = time.monotonic() + timeout
    while time.monotonic() < end and B.alive(proc.pid):
        B.kill(proc.pid, signal.SIGUSR1)
        time.sleep(0.02)
        g = max_gen(out.new())
        if g is not None:
            return g
    return None


def measure(n):
    root = os.path.join(ROOT, f"n{n}")
    os.makedirs(os.path.join(root, "st"))
    allp = os.path.join(root, "stamps.all")
    open(allp, "w").close()
    args = env.respawn_cmd(root)
    for i in range(n):
        link = os.path.join(root, "st", f"s{i:05d}")
        os.symlink(allp, link)
        args += ["{", env.stamp, link, "}"]
    logp = os.path.join(root, "respawn.log")
    open(logp, "w").close()
    st = B.Stamps(allp)
    proc = B.popen(args, root, logp)
    out = Output(logp)
    row = {"servers": n}
    try:
        if not st.wait_count(n, 60, sleep=0.01, alive=lambda: B.alive(proc.pid)):
            row["status"] = (f"only {len(st.lines)}/{n} servers came up "
                             f"({B.describe_status(B.EXITED.get(proc.pid))}) {B.tail(logp)}")
            return row
        time.sleep(0.3)
        before = {p for p in B.descendants(proc.pid) if B.is_probe(p)}
        g = current_generation(proc, out)
        if g is None:
            row["status"] = "not available (no generation in the info dump)"
            return row
        times, snap = [], None
        lost = restarted = 0
        for r in range(ROUNDS):
            time.sleep(0.2)
            out.new()
            out.reset()
            st.poll()
            lines = len(st.lines)
            t0 = time.perf_counter()
            os.kill(proc.pid, signal.SIGHUP)
            new_g, why = None, None
            while True:
                time.sleep(POLL)
                B.kill(proc.pid, signal.SIGUSR1)
                data = out.new()
                m = B.SNAP_RE.findall(data)
                if m:
                    snap = int(m[-1])
                ng = max_gen(data)
                if ng is not None and ng > g:
                    new_g = ng
                    break
                if not B.alive(proc.pid):
                    why = f"respawn died during upgrade {r + 1}: {B.describe_status(B.EXITED.get(proc.pid))}"
                    break
                if time.perf_counter() - t0 > TIMEOUT:
                    why = f"not available (generation still {g} {TIMEOUT:.0f} s after SIGHUP)"
                    break
            if new_g is None:
                row["status"] = why
                tl = B.tail(logp, 3)
                if tl and "not available" not in why:
                    row["status"] += f"; log: {tl}"
                break
            times.append((time.perf_counter() - t0) * 1e3)
            g = new_g
            time.sleep(0.1)
            after = {p for p in B.descendants(proc.pid) if B.is_probe(p)}
            lost = max(lost, len(before - after))
            st.poll()
            restarted += len(st.lines) - lines
        if times:
            row.update(B.summary_ms(times))
            row["snapshot_bytes"] = snap
            row["children_lost"] = lost
            row["restarts_during_upgrades"] = restarted
            row["upgrades"] = len(times)
            row.setdefault("status", "ok")
        return row
    finally:
        st.close()
        B.stop_respawn(proc.pid, row)


def main():
    rows = []
    status = None
    if not env.respawn_ok():
        status = f"not available ({env.respawn} not built)"
    else:
        for n in NS:
            B.log(f"{n} servers: {ROUNDS} upgrades")
            r = measure(n)
            B.log(f"  {r}")
            rows.append(r)
            if r.get("status", "").startswith("not available"):
                status = r["status"]
                break
    table_rows = []
    for r in rows:
        if "median_ms" in r:
            table_rows.append([r["servers"], r["upgrades"], r["median_ms"], r["min_ms"], r["max_ms"],
                               "n/a" if r["snapshot_bytes"] is None else r["snapshot_bytes"],
                               r["children_lost"], r["restarts_during_upgrades"], r["status"]])
        else:
            table_rows.append([r["servers"], 0, None, None, None, "n/a", None, None, r.get("status", "?")])
    notes = [f"{r['servers']} servers: {r['stop_note']}" for r in rows if r.get("stop_note")]
    if table_rows:
        notes.append("polled with SIGUSR1 every 1 ms after SIGHUP: each poll costs respawn an info dump "
                     "of every server, which weighs on the larger N")
    frag = {"title": "live upgrade: SIGHUP -> the new image answers SIGUSR1 with a greater generation",
            "rows": rows, "notes": notes,
            "tables": [{"columns": ["servers", "upgrades", "median ms", "min ms", "max ms",
                                    "snapshot B", "lost", "restarts", "status"],
                        "rows": table_rows}] if table_rows else []}
    if status:
        frag["status"] = status
    B.write_fragment(env, "upgrade", frag)
    if status:
        print(f"upgrade: {status}")


main()
