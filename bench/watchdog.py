#!/usr/bin/env python3
"""Figure 'watchdog': the hardware watchdog's keepalives under a crash storm,
and the time from a hung event loop to the device's fire.

This machine has no watchdog device: the figure boots the machine's own
Debian kernel (/boot/vmlinuz-*) under qemu (TCG, one CPU, as the VM tests
do) with an initramfs made here: busybox-static, the kernel's watchdog.ko
and softdog.ko (soft_noboot=1: a fire is logged "softdog: Triggered", the
machine is not reset), and a static respawn built from this repository with
-tags testhooks (SIGUSR1 hangs its event loop while /run/respawn-test-hang
exists) as the machine's PID 1, with --watchdog-device=/dev/watchdog0
(softdog) --watchdog-timeout=WATCHDOG_TIMEOUT (10 s: a keepalive every 5 s).

(a) For WATCHDOG_SECS (600) a crash storm runs: WATCHDOG_CRASHERS (20)
    servers that live 0.2 s and exit 1, under --interval=100ms (each life is
    longer: restarted, paced, never buried). A check server samples
    `respawnctl --json status watchdog` every 2 s (each keepalive's time, to
    the ns) and prints it on the console; at the end it prints the status
    (keepalives, max_late_s: respawn's own longest delay of a keepalive past
    its due time, half the timeout after the last) and the list (restarts).
    Meanwhile a Go canary in the same VM times its 100 ms sleeps: how late
    any timer wakes there, beside respawn's keepalives. respawn's log goes
    to a file in RAM (WATCHDOG_LOG=console: the serial console, slow).
(b) Then it waits for a fresh keepalive, hangs the loop (the test hook) and
    writes the moment to /dev/kmsg, so that the kernel stamps it with the
    clock it stamps "softdog: Triggered" with: SIGUSR1 -> fire; the hook's
    log line (the loop hung) -> fire; and the last keepalive -> fire, when
    the hook came before another keepalive was due (realtimes are mapped to
    the kernel's clock through an adjtimex + /proc/uptime anchor).

qemu runs under `timeout` (WATCHDOG_SECS + 180 s); everything it starts ends
with it. Without qemu, a kernel, its modules, a static busybox, cpio or go,
the figure is skipped with a message.

env: BENCH_TMP, FRAG_DIR, WATCHDOG_SECS (600), WATCHDOG_TIMEOUT (10),
WATCHDOG_CRASHERS (20), WATCHDOG_LOG (file), WATCHDOG_CONSOLE (a path to keep the VM's console
at; it is in BENCH_TMP otherwise, removed at the end), see benchlib.Env.
"""
import glob
import json
import os
import re
import shutil
import statistics
import struct
import subprocess
from datetime import datetime

import benchlib as B

env = B.setup("watchdog")
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.join(env.tmp, "watchdog")
SECS = int(os.environ.get("WATCHDOG_SECS", "600"))
TIMEOUT = int(os.environ.get("WATCHDOG_TIMEOUT", "10"))
CRASHERS = int(os.environ.get("WATCHDOG_CRASHERS", "20"))
LOG = os.environ.get("WATCHDOG_LOG", "file")
PACKAGES = "qemu-system-x86 linux-image-amd64 busybox-static cpio golang"
APPLETS = ["sh", "mount", "cat", "sleep", "grep", "kill", "echo", "touch", "cut", "poweroff",
           "insmod", "adjtimex", "test", "[", "tr"]
FIRED = "softdog: Triggered"

INIT = """#!/bin/sh
export PATH=/bin
mount -t devtmpfs dev /dev
mount -t proc proc /proc
insmod /lib/watchdog.ko
insmod /lib/softdog.ko soft_noboot=1
exec /respawn {args} {redirect}
"""

# The check: the storm runs while it samples; then a hang right after a
# keepalive. It writes to /dev/console itself: PID 1, which captures its
# output, hangs at the end.
CHECK = """#!/bin/sh
say() {{ echo "WDB $*" > /dev/console; }}
kept() {{ echo "$1" | grep -o '"keepalives":[0-9]*' | cut -d: -f2; }}
up() {{ cut -d' ' -f1 /proc/uptime; }}
say start $(up)
end=$(( $(cut -d. -f1 /proc/uptime) + {secs} ))
while [ $(cut -d. -f1 /proc/uptime) -lt $end ]; do
	say sample $(respawnctl --json status watchdog)
	sleep 2
done
say status $(respawnctl --json status watchdog)
say list $(respawnctl --json list)
say loadavg $(cat /proc/loadavg)
st=$(respawnctl --json status watchdog)
k=$(kept "$st") dl=$(( $(cut -d. -f1 /proc/uptime) + {wait} ))
while [ "$(kept "$st")" = "$k" ] && [ $(cut -d. -f1 /proc/uptime) -lt $dl ]; do
	sleep 0.1
	st=$(respawnctl --json status watchdog)
done
touch /run/respawn-test-hang
read u _ < /proc/uptime
echo "<2>WDB hang $u" > /dev/kmsg
kill -USR1 1
say last $st
sleep {after}
say hook $(grep -m1 'test hook: the event loop hangs' /run/respawn.log)
read u1 _ < /proc/uptime
at=$(adjtimex | grep -o 'tv_u*sec: *[0-9]*' | tr -d ' ')
read u2 _ < /proc/uptime
say anchor $at uptime:$u1:$u2
read u _ < /proc/uptime
echo "<2>WDB clock $u" > /dev/kmsg
poweroff -f
"""

# The canary: a Go program in the same VM that sleeps 100 ms again and again
# and prints, every 10 s, how late it woke (cumulative): how late any timer
# of an ordinary process is in this machine, beside respawn's keepalives.
CANARY = """package main

import (
	"fmt"
	"os"
	"slices"
	"time"
)

func main() {
	const tick = 100 * time.Millisecond
	con, err := os.OpenFile("/dev/console", os.O_WRONLY, 0)
	if err != nil {
		os.Exit(1)
	}
	var late []time.Duration
	next := time.Now().Add(10 * time.Second)
	for {
		t := time.Now()
		time.Sleep(tick)
		late = append(late, time.Since(t)-tick)
		if time.Now().Before(next) {
			continue
		}
		s := slices.Sorted(slices.Values(late))
		over := len(s) - slices.IndexFunc(s, func(d time.Duration) bool { return d > tick })
		if over > len(s) {
			over = 0
		}
		fmt.Fprintf(con, "WDB canary n=%d p50=%.4f p99=%.4f max=%.4f over_tick=%d\\n", len(s),
			s[len(s)/2].Seconds(), s[len(s)*99/100].Seconds(), s[len(s)-1].Seconds(), over)
		next = next.Add(10 * time.Second)
	}
}
"""


def missing():
    """What the figure needs and this machine lacks, and the kernel."""
    need = [p for p in ("qemu-system-x86_64", "timeout", "cpio", "go") if shutil.which(p) is None]
    kernels = sorted(glob.glob("/boot/vmlinuz-*"))
    if not kernels:
        need.append("/boot/vmlinuz-*")
    busybox = shutil.which("busybox")
    if busybox is None or not static(busybox):
        need.append("a static busybox")
    return need, (kernels[-1] if kernels else None), busybox


def static(path):
    """Whether the ELF executable at path asks for no program interpreter
    (no PT_INTERP program header): the initramfs has no libc."""
    with open(path, "rb") as f:
        b = f.read(1 << 16)
    if b[:4] != b"\x7fELF" or b[4] != 2:
        return False
    phoff, = struct.unpack_from("<Q", b, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", b, 0x36)
    return all(struct.unpack_from("<I", b, phoff + i * phentsize)[0] != 3 for i in range(phnum))


def module(kernel, name):
    """The kernel's module name, decompressed (busybox insmod reads no .ko.xz)."""
    d = os.path.join("/lib/modules", os.path.basename(kernel).removeprefix("vmlinuz-"), "kernel/drivers/watchdog")
    p = os.path.join(d, name + ".ko")
    if os.path.exists(p):
        with open(p, "rb") as f:
            return f.read()
    return subprocess.run(["xz", "-dc", p + ".xz"], capture_output=True, check=True).stdout


def static_build(out, pkg, tags=""):
    r = subprocess.run(["go", "build", "-trimpath", f"-tags={tags}", "-o", out, pkg], cwd=REPO,
                       env=dict(os.environ, CGO_ENABLED="0"), capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"go build {pkg}: {r.stderr.strip()[-500:]}")


def respawn_args():
    args = ["--interval=100ms", "--watchdog-device=/dev/watchdog0", f"--watchdog-timeout={TIMEOUT}",
            "{", "@check", "/bin/check", "}", "{", "@canary", "/bin/canary", "}"]
    for i in range(CRASHERS):
        args += ["{", f"@crash{i:02d}", "sh", "-c", "'sleep 0.2; exit 1'", "}"]
    return " ".join(args)


def make_root(kernel, busybox):
    root = os.path.join(ROOT, "root")
    shutil.rmtree(root, ignore_errors=True)
    for d in ("bin", "dev", "proc", "sys", "tmp", "run", "lib"):
        os.makedirs(os.path.join(root, d))
    shutil.copy(busybox, os.path.join(root, "bin/busybox"))
    for a in APPLETS:
        os.symlink("busybox", os.path.join(root, "bin", a))
    os.mknod(os.path.join(root, "dev/console"), 0o20600, os.makedev(5, 1))
    static_build(os.path.join(root, "respawn"), "./cmd/respawn", "testhooks")
    static_build(os.path.join(root, "bin/respawnctl"), "./cmd/respawnctl")
    src = os.path.join(ROOT, "canary.go")
    with open(src, "w") as f:
        f.write(CANARY)
    static_build(os.path.join(root, "bin/canary"), src)
    for m in ("watchdog", "softdog"):
        with open(os.path.join(root, "lib", m + ".ko"), "wb") as f:
            f.write(module(kernel, m))
    redirect = "" if LOG == "console" else "> /run/respawn.log 2>&1"
    files = {"init": INIT.format(args=respawn_args(), redirect=redirect),
             "bin/check": CHECK.format(secs=SECS, wait=3 * TIMEOUT, after=TIMEOUT + 5)}
    for p, s in files.items():
        with open(os.path.join(root, p), "w") as f:
            f.write(s)
        os.chmod(os.path.join(root, p), 0o755)
    initrd = os.path.join(ROOT, "initrd.cpio")
    subprocess.run(f"find . | cpio -o -H newc -R 0:0 --quiet > {initrd}", shell=True, cwd=root, check=True)
    return initrd


def boot(kernel, initrd):
    """Boots the machine; returns the console (a file) and qemu's exit code."""
    console = os.path.join(ROOT, "console.log")
    bound = SECS + 180
    args = ["timeout", "-k", "5", str(bound), "qemu-system-x86_64", "-accel", "tcg", "-cpu", "max",
            "-m", "256", "-smp", "1", "-nographic", "-no-reboot", "-kernel", kernel, "-initrd", initrd,
            "-append", "console=ttyS0 rdinit=/init quiet panic=-1"]
    B.log(f"booting {os.path.basename(kernel)} under qemu (TCG) for {SECS} s of storm, "
          f"then the hang (bounded by {bound} s); console: {console}")
    with open(console, "wb") as out:
        r = subprocess.run(args, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    with open(console, "rb") as f:
        return f.read().decode(errors="replace").replace("\r\n", "\n"), r.returncode


def marked(console, word):
    """The rest of each console line 'WDB word ...'."""
    return [m.group(1) for m in re.finditer(rf"^WDB {word} ?(.*)$", console, re.M)]


def status_of(line):
    """The watchdog info of a `respawnctl --json status watchdog` line, or None."""
    try:
        return json.loads(line)["status"]["watchdog"]
    except (ValueError, KeyError, TypeError):
        return None


def realtime(rfc3339):
    """Seconds since the epoch of an RFC 3339 time with up to 9 digits of fraction."""
    m = re.match(r"(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$", rfc3339)
    whole = datetime.fromisoformat(m.group(1) + "+00:00").timestamp()
    return whole + float("0." + (m.group(2) or "0"))


def lateness(console):
    """Each sampled keepalive's delay past its time (the gap to the one before,
    less the half-timeout), in s, from pairs of samples one keepalive apart."""
    pets = {}
    for line in marked(console, "sample"):
        w = status_of(line)
        if w and w.get("last_keepalive"):
            pets[w["keepalives"]] = realtime(w["last_keepalive"])
    return [pets[k] - pets[k - 1] - TIMEOUT / 2 for k in sorted(pets) if k - 1 in pets]


def restarts(console):
    lines = marked(console, "list")
    if not lines:
        return None, None
    try:
        servers = [i for i in json.loads(lines[-1])["list"] if i["name"].startswith("crash")]
        return sum(i["restarts"] for i in servers), [i["state"] for i in servers]
    except (ValueError, KeyError, TypeError):
        return sum(int(n) for n in re.findall(r'"restarts":(\d+)', lines[-1])), None


def kernel_time(console, text):
    m = re.search(r"\[ *([0-9.]+)\] " + re.escape(text), console)
    return float(m.group(1)) if m else None


def to_kernel_clock(console):
    """A function from a realtime (s since the epoch) to the kernel's
    console clock, from the check's anchor (adjtimex between two reads of
    /proc/uptime) and the offset of the console clock from /proc/uptime (a
    line written to /dev/kmsg with the uptime read just before); and the
    anchor's uncertainty, s."""
    anchor = marked(console, "anchor")
    m = re.match(r"tv_sec:(\d+) tv_usec:(\d+) uptime:([0-9.]+):([0-9.]+)", anchor[-1]) if anchor else None
    clock = re.search(r"\[ *([0-9.]+)\] WDB clock ([0-9.]+)", console)
    if not m or not clock:
        return None, None
    real = int(m.group(1)) + int(m.group(2)) / 1e6
    u1, u2 = float(m.group(3)), float(m.group(4))
    offset = float(clock.group(1)) - float(clock.group(2))
    return (lambda t: t - real + (u1 + u2) / 2 + offset), (u2 - u1) / 2


def hang_figures(console):
    """SIGUSR1 (the hang asked) -> fire, the hook's log line (the loop hung)
    -> fire, the last keepalive -> fire, all on the kernel's clock; and the
    fires before the hang (which must be none)."""
    out = {}
    before, hung, after = console.partition("WDB hang")
    out["fires_before_hang"] = before.count(FIRED)
    hang_k, fire_k = kernel_time(console, "WDB hang"), kernel_time(after, FIRED)
    if not hung or hang_k is None or fire_k is None:
        return out
    out["signal_to_fire_s"] = fire_k - hang_k
    kclock, err = to_kernel_clock(console)
    last = marked(console, "last")
    w = status_of(last[-1]) if last else None
    hook = re.search(r"time=(\S+) level=WARN msg=\"test hook: the event loop hangs\"", after)
    if kclock is None:
        return out
    out["clock_uncertainty_s"] = err
    if not hook:
        return out
    hook_k = kclock(realtime(hook.group(1)))
    out["hang_to_fire_s"] = fire_k - hook_k
    if w and w.get("last_keepalive"):
        pet_k = kclock(realtime(w["last_keepalive"]))
        # a tick is never early: the status's keepalive was the last
        # before the hang only if the hang came before the next was due
        if hook_k - pet_k < TIMEOUT / 2:
            out["keepalive_to_fire_s"] = fire_k - pet_k
        else:
            out["keepalive_note"] = (f"the loop hung {hook_k - pet_k:.2f} s after the keepalive the check saw: "
                                     f"another may have come between; last keepalive -> fire not measured")
    return out


def canary(console):
    """The canary's last line: how late a 100 ms sleep woke in the VM."""
    lines = marked(console, "canary")
    if not lines:
        return {}
    return {k: float(v) if "." in v else int(v) for k, v in re.findall(r"(\w+)=([0-9.]+)", lines[-1])}


def measure(console, rc):
    out = {"qemu_exit": rc}
    # the status just before the hang if respawn answered it (the storm
    # runs until then), else the one at the end of WATCHDOG_SECS
    final = [w for w in map(status_of, marked(console, "status") + marked(console, "last")) if w]
    if final:
        out["keepalives"] = final[-1]["keepalives"]
        out["max_late_s"] = final[-1]["max_late_s"]
    late = lateness(console)
    if late:
        out["sampled"] = len(late)
        out["late_median_s"] = statistics.median(late)
        out["late_p99_s"] = B.pct(late, 0.99)
        out["late_max_s"] = max(late)
        out["late_over_1s"] = sum(x > 1 for x in late)
        out["late_past_half_timeout"] = sum(x > TIMEOUT / 2 for x in late)
    out["restarts"], states = restarts(console)
    if states is not None:
        out["crashers_alive_or_dead"] = sum(s in ("ALIVE", "DEAD") for s in states)
    out["loadavg_in_vm"] = (marked(console, "loadavg") or [None])[-1]
    out.update(hang_figures(console))
    out["canary"] = canary(console)
    return out


def errors(r, console):
    errs = []
    if "keepalives" not in r:
        errs.append("no final status of the watchdog on the console")
    if "signal_to_fire_s" not in r:
        errs.append("no hang, or no 'softdog: Triggered' after it")
    if r.get("qemu_exit"):
        errs.append(f"qemu did not power off by itself (exit {r['qemu_exit']}: 124 is the timeout)")
    if "Kernel panic" in console:
        errs.append("the kernel panicked")
    return errs


def table(r):
    def ms(v):
        return None if v is None else v * 1e3
    c = r.get("canary", {})
    return [
        {"title": f"keepalives over {SECS} s of a crash storm ({CRASHERS} servers living 0.2 s), "
                  f"timeout {TIMEOUT} s, keepalive every {TIMEOUT / 2:g} s; lateness in ms",
         "columns": ["restarts", "keepalives", "max late (respawn)", "sampled", "median late",
                     "p99 late", "max late (sampled)", "> 1 s late", "> timeout/2 late (a fire)"],
         "rows": [[r.get("restarts"), r.get("keepalives"), ms(r.get("max_late_s")), r.get("sampled"),
                   ms(r.get("late_median_s")), ms(r.get("late_p99_s")), ms(r.get("late_max_s")),
                   r.get("late_over_1s"), r.get("late_past_half_timeout")]]},
        {"title": "the same VM meanwhile: a 100 ms sleep of a Go canary, how late it woke, ms",
         "columns": ["sleeps", "median", "p99", "max", "over 100 ms late"],
         "rows": [[c.get("n"), ms(c.get("p50")), ms(c.get("p99")), ms(c.get("max")), c.get("over_tick")]]},
        {"title": "hung event loop -> softdog fires, s (hang asked right after a keepalive)",
         "columns": ["timeout", "SIGUSR1 -> fire", "loop hung -> fire", "last keepalive -> fire", "+-"],
         "rows": [[TIMEOUT, r.get("signal_to_fire_s"), r.get("hang_to_fire_s"), r.get("keepalive_to_fire_s"),
                   r.get("clock_uncertainty_s")]]},
    ]


def verdict(r):
    fire = r.get("keepalive_to_fire_s", r["signal_to_fire_s"])
    what = "the last keepalive" if "keepalive_to_fire_s" in r else "SIGUSR1"
    storm = (f"softdog FIRED {r['fires_before_hang']} time(s) during the storm" if r["fires_before_hang"]
             else "softdog never fired during the storm")
    return (f"{storm}; the longest keepalive delay {r['max_late_s'] * 1e3:.0f} ms past its time; "
            f"after the hang, softdog fired {fire:.2f} s after {what} (timeout {TIMEOUT} s)")


def main():
    need, kernel, busybox = missing()
    if need:
        msg = f"skipped: needs {', '.join(need)} (apt-get install {PACKAGES})"
        B.log(msg)
        B.write_fragment(env, "watchdog", {"title": "hardware watchdog (softdog in a VM)", "status": msg})
        return
    os.makedirs(ROOT, exist_ok=True)
    B.log(f"building the initramfs (respawn -tags testhooks, busybox, {os.path.basename(kernel)}'s modules)")
    try:
        initrd = make_root(kernel, busybox)
    except (RuntimeError, OSError, subprocess.CalledProcessError) as e:
        B.write_fragment(env, "watchdog", {"title": "hardware watchdog (softdog in a VM)", "status": f"error: {e}"})
        return
    console, rc = boot(kernel, initrd)
    if os.environ.get("WATCHDOG_CONSOLE"):
        shutil.copy(os.path.join(ROOT, "console.log"), os.environ["WATCHDOG_CONSOLE"])
    r = measure(console, rc)
    errs = errors(r, console)
    if errs:
        B.log("console tail:\n" + "\n".join(console.splitlines()[-30:]))
    status = "error: " + "; ".join(errs) if errs else verdict(r)
    B.write_fragment(env, "watchdog", {
        "title": "hardware watchdog: softdog in a qemu VM (TCG, 1 CPU), respawn as PID 1",
        "secs": SECS, "timeout_s": TIMEOUT, "crashers": CRASHERS, "kernel": os.path.basename(kernel),
        "result": r, "status": status,
        "notes": [n for n in (r.get("keepalive_note"), f"console: {os.path.join(ROOT, 'console.log')}") if n],
        "tables": table(r)})


main()
