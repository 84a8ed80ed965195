#!/usr/bin/env python3
"""Figure 'control': the control socket under load.

respawn supervises CONTROL_N (500) probes with --control=<socket>. Measured:
  - `list` round trips: connect, send {"cmd":"list"}\\n, read one JSON line;
    median of CONTROL_REQUESTS (200), one at a time;
  - respawn latency (kill a server that has lived > 1.25 s -> its replacement
    has exec'd), ROUNDS (20) kills of different servers, first with the socket
    idle, then while CONTROL_CLIENTS (50) client threads (in a separate
    process) call `list` in a loop; also how many lists/s they got.
If the socket does not appear within 5 s, or does not answer with a JSON line,
the figure says "not available".

usage: control.py                    (the figure; env as the other figures)
       control.py --load SOCKET K     (K client threads calling list until SIGTERM;
                                       prints {"requests": n, "errors": e, "secs": s})
"""
import json
import os
import signal
import socket
import sys
import threading
import time

LIST = b'{"cmd":"list"}\n'


def request(path, timeout=5.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.settimeout(timeout)
        s.connect(path)
        s.sendall(LIST)
        buf = b""
        while not buf.endswith(b"\n"):
            b = s.recv(1 << 16)
            if not b:
                break
            buf += b
        return buf
    finally:
        s.close()


def load(path, k):
    stop = threading.Event()
    counts = [0] * k
    errors = [0] * k

    def client(i):
        while not stop.is_set():
            try:
                if request(path).endswith(b"\n"):
                    counts[i] += 1
                else:
                    errors[i] += 1
            except OSError:
                errors[i] += 1
                time.sleep(0.001)

    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    t0 = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(k)]
    for t in threads:
        t.start()
    while not stop.is_set():
        stop.wait(0.1)
    secs = time.monotonic() - t0
    for t in threads:
        t.join(2)
    print(json.dumps({"requests": sum(counts), "errors": sum(errors), "secs": secs}), flush=True)


if len(sys.argv) > 1 and sys.argv[1] == "--load":
    load(sys.argv[2], int(sys.argv[3]))
    sys.exit(0)

import statistics  # noqa: E402
import subprocess  # noqa: E402

import benchlib as B  # noqa: E402

env = B.setup("control")
ROOT = os.path.join(env.tmp, "control")
N = int(os.environ.get("CONTROL_N", "500"))
REQS = int(os.environ.get("CONTROL_REQUESTS", "200"))
CLIENTS = int(os.environ.get("CONTROL_CLIENTS", "50"))
LIVED = 1.25


def latency_rounds(st, rounds, proc):
    """Kill `rounds` different servers that have lived > LIVED s, one at a time."""
    lat = []
    used = set()
    for i in range(rounds):
        st.poll()
        now = time.time_ns()
        cand = None
        for pid, ns in st.lines:
            if pid not in used and (now - ns) / 1e9 > LIVED and B.is_probe(pid):
                cand = pid
                break
        if cand is None:
            raise RuntimeError("no server has lived long enough")
        used.add(cand)
        n = len(st.lines)
        t0 = time.time_ns()
        os.kill(cand, signal.SIGKILL)
        if not st.wait_count(n + 1, 10, alive=lambda: B.alive(proc.pid)):
            raise RuntimeError(f"server {cand} not restarted within 10 s")
        lat.append((st.lines[n][1] - t0) / 1e6)
        time.sleep(0.05)
    return lat


def measure():
    os.makedirs(ROOT, exist_ok=True)
    sock = os.path.join(ROOT, "control.sock")
    allp = os.path.join(ROOT, "stamps.all")
    open(allp, "w").close()
    os.makedirs(os.path.join(ROOT, "st"))
    args = env.respawn_cmd(ROOT)
    for i in range(N):
        link = os.path.join(ROOT, "st", f"s{i:05d}")
        os.symlink(allp, link)
        args += ["{", env.stamp, link, "}"]
    logp = os.path.join(ROOT, "respawn.log")
    st = B.Stamps(allp)
    proc = B.popen(args, ROOT, logp)
    res = {"servers": N}
    try:
        end = time.monotonic() + 5
        while not os.path.exists(sock) and time.monotonic() < end and B.alive(proc.pid):
            time.sleep(0.01)
        if not B.alive(proc.pid):
            res["status"] = (f"not available (respawn --control: "
                             f"{B.describe_status(B.EXITED.get(proc.pid))}: {B.tail(logp, 2)})")
            return res
        if not os.path.exists(sock):
            res["status"] = "not available (no control socket within 5 s)"
            return res
        if not st.wait_count(N, 60, sleep=0.01, alive=lambda: B.alive(proc.pid)):
            res["status"] = f"only {len(st.lines)}/{N} servers came up"
            return res
        try:
            first = request(sock)
            doc = json.loads(first)
        except (OSError, ValueError) as e:
            res["status"] = f"not available (list: {e.__class__.__name__}: {e})"
            return res
        res["answer_bytes"] = len(first)
        if isinstance(doc, dict) and doc.get("ok") is False or isinstance(doc, dict) and doc.get("error"):
            res["status"] = f"not available (list answered: {first[:200].decode(errors='replace')})"
            return res

        times = []
        for _ in range(REQS):
            t0 = time.perf_counter()
            request(sock)
            times.append((time.perf_counter() - t0) * 1e3)
        res["list"] = B.summary_ms(times)
        B.log(f"  list: median {res['list']['median_ms']:.2f} ms p90 {res['list']['p90_ms']:.2f} ms "
              f"({len(first)} bytes)")

        time.sleep(max(0.0, LIVED + 0.1 - (time.time_ns() - st.lines[-1][1]) / 1e9))
        res["latency_idle"] = B.summary_ms(latency_rounds(st, env.rounds, proc))
        B.log(f"  latency, socket idle: median {res['latency_idle']['median_ms']:.2f} ms")

        loader = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--load", sock, str(CLIENTS)],
                                  stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        try:
            time.sleep(1.0)
            res["latency_loaded"] = B.summary_ms(latency_rounds(st, env.rounds, proc))
        finally:
            loader.send_signal(signal.SIGTERM)
            try:
                outp, _ = loader.communicate(timeout=10)
                ld = json.loads(outp)
                res["load"] = dict(ld, clients=CLIENTS, per_sec=ld["requests"] / ld["secs"])
            except (subprocess.TimeoutExpired, ValueError):
                loader.kill()
                loader.wait()
        B.log(f"  latency, {CLIENTS} clients: median {res['latency_loaded']['median_ms']:.2f} ms"
              + (f", {res['load']['per_sec']:.0f} lists/s, {res['load']['errors']} errors"
                 if "load" in res else ""))
        res["status"] = "ok"
        return res
    except RuntimeError as e:
        res["status"] = f"failed: {e}"
        return res
    finally:
        st.close()
        B.stop_respawn(proc.pid, res)


def main():
    if not env.respawn_ok():
        res = {"status": f"not available ({env.respawn} not built)"}
    else:
        B.log(f"{N} servers, {REQS} list requests, latency idle vs {CLIENTS} clients")
        res = measure()
    frag = {"title": f"control socket: {N} servers", "result": res, "tables": [],
            "notes": [res["stop_note"]] if res.get("stop_note") else []}
    if res.get("status") != "ok":
        frag["status"] = res.get("status")
        print(f"control: {res.get('status')}")
    rows = []
    if "list" in res:
        l = res["list"]
        rows.append([f"list round trip ({l['rounds']}x, {res['answer_bytes']} B answer)",
                     l["median_ms"], l["p90_ms"], l["max_ms"], ""])
    for k, label in (("latency_idle", "respawn latency, socket idle"),
                     ("latency_loaded", f"respawn latency, {CLIENTS} clients listing")):
        if k in res:
            l = res[k]
            extra = ""
            if k == "latency_loaded" and "load" in res:
                extra = f"{res['load']['per_sec']:.0f} lists/s, {res['load']['errors']} errors"
            rows.append([label, l["median_ms"], l["p90_ms"], l["max_ms"], extra])
    if rows:
        frag["tables"].append({"columns": ["what", "median ms", "p90 ms", "max ms", ""], "rows": rows})
    B.write_fragment(env, "control", frag)


main()
