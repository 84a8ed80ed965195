//go:build linux

package test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// vmWatchdogEarly loads the watchdog modules before respawn starts: the
// i6300esb becomes /dev/watchdog0, softdog (which only logs when it
// fires) /dev/watchdog1.
const vmWatchdogEarly = `mount -t proc proc /proc
busybox insmod /lib/watchdog.ko
busybox insmod /lib/i6300esb.ko
busybox insmod /lib/softdog.ko soft_noboot=1`

// vmWatchdogFiles are the modules and the checks of a watchdog boot.
func vmWatchdogFiles(t *testing.T, kernel string, checks map[string]string) map[string]string {
	t.Helper()
	files := map[string]string{}
	for _, m := range []string{"watchdog", "i6300esb", "softdog"} {
		files["lib/"+m+".ko"] = vmModule(t, kernel, m)
	}
	for p, s := range checks {
		files[p] = s
	}
	return files
}

// vmCheckPetted lets PID 1 pet the i6300esb for over three timeouts,
// upgrades it live and lets it pet for three more, stops and starts the
// watchdog task (a magic close, then a new open), then runs a second
// respawn (not PID 1) on softdog and stops it with SIGTERM, and waits two
// of its timeouts; then SIGTERM to PID 1.
const vmCheckPetted = `#!/bin/sh
sleep 10
echo "CHECK petted $(respawnctl status watchdog | grep -c 'petting: *yes')"
kill -HUP 1
sleep 10
echo "CHECK upgraded $(respawnctl status watchdog | grep -c 'petting: *yes')"
respawnctl stop watchdog
sleep 7
echo "CHECK task stopped"
respawnctl start watchdog
sleep 2
/respawn --control=none --watchdog-device=/dev/watchdog1 --watchdog-timeout=2 { @inner sleep 1000 } &
inner=$!
sleep 4
kill -TERM $inner
wait $inner
echo "CHECK inner exit $?"
sleep 5
echo "CHECK end"
kill -TERM 1
exec sleep 1000
`

// TestVMWatchdogPetted boots respawn as PID 1 with the i6300esb as its
// watchdog (timeout 3 s): it logs the driver's identity, the timeout
// applied and the boot status; neither its pets nor a live upgrade in the
// middle, nor stopping the task (the magic close), nor a clean stop (of a
// second respawn on softdog, and of PID 1 at the end) lets a watchdog
// fire.
func TestVMWatchdogPetted(t *testing.T) {
	kernel := vmNeeds(t)
	r := vm{
		early: vmWatchdogEarly,
		args:  []string{"--watchdog-device=/dev/watchdog0", "--watchdog-timeout=3", "{", "@check", "/bin/check", "}"},
		files: vmWatchdogFiles(t, kernel, map[string]string{"bin/check": vmCheckPetted}),
		qemu:  []string{"-device", "i6300esb", "-watchdog-action", "debug"},
	}.boot(t)
	defer func() {
		if t.Failed() {
			t.Logf("console:\n%s", r.console)
		}
	}()
	vmWant(t, r, `msg="watchdog: device open" device=/dev/watchdog0 identity="i6300ESB timer"`,
		`msg="watchdog: timeout set" asked=3s applied=3s`, `msg="watchdog: boot status" bootstatus=0x0`, "watchdog: armed",
		"upgrading", `msg="watchdog: device taken over" device=/dev/watchdog0 timeout=3s`, "watchdog: armed",
		`msg="watchdog: disarmed" device=/dev/watchdog0 why="the task was stopped"`, "watchdog: armed",
		`identity="Software Watchdog"`, `msg="watchdog: disarmed" device=/dev/watchdog1 why="respawn stops"`,
		`msg="watchdog: disarmed" device=/dev/watchdog0 why="respawn stops"`, "respawn: powering off",
		"CHECK petted 1", "CHECK upgraded 1", "CHECK task stopped", "CHECK inner exit 0", "CHECK end")
	for _, f := range []string{softdogFired, esbFired} {
		if strings.Contains(r.console, f) {
			t.Errorf("a watchdog fired (%q)", f)
		}
	}
}

// vmCheckHang runs a second respawn on softdog (timeout 3 s), lets both
// pet for over two timeouts, then hangs both event loops (the test hook:
// SIGUSR1 while the hang file exists) and waits; the lines go straight
// to the console, since PID 1, which captures the check's output, hangs.
const vmCheckHang = `#!/bin/sh
/respawn --control=none --watchdog-device=/dev/watchdog1 --watchdog-timeout=3 { @inner sleep 1000 } &
inner=$!
sleep 8
echo "CHECK calm" > /dev/console
touch /run/respawn-test-hang
echo "CHECK hang $(cut -d' ' -f1 /proc/uptime)" > /dev/console
kill -USR1 $inner
kill -USR1 1
sleep 8
echo "CHECK after $(cut -d' ' -f1 /proc/uptime)" > /dev/console
kill -KILL $inner
poweroff -f
`

// TestVMWatchdogHungLoop hangs the event loop of PID 1 (petting the
// i6300esb) and of a second respawn (petting softdog): both devices fire,
// and neither before the hang.
func TestVMWatchdogHungLoop(t *testing.T) {
	kernel := vmNeeds(t)
	r := vm{
		early: vmWatchdogEarly,
		args:  []string{"--control=none", "--watchdog-device=/dev/watchdog0", "--watchdog-timeout=3", "{", "@check", "/bin/check", "}"},
		files: vmWatchdogFiles(t, kernel, map[string]string{"bin/check": vmCheckHang}),
		qemu:  []string{"-device", "i6300esb", "-watchdog-action", "debug"},
	}.boot(t)
	defer func() {
		if t.Failed() {
			t.Logf("console:\n%s", r.console)
		}
	}()
	vmWant(t, r, "CHECK calm", "CHECK hang", "test hook: the event loop hangs", "CHECK after")
	before, after, _ := strings.Cut(r.console, "CHECK hang")
	for _, f := range []string{softdogFired, esbFired} {
		if strings.Contains(before, f) {
			t.Errorf("%q before the hang", f)
		}
		if !strings.Contains(after, f) {
			t.Errorf("no %q after the hang", f)
		}
	}
	logFireDelay(t, after)
}

// logFireDelay logs the time from the hang to softdog's fire, from the
// uptime the check printed and the kernel's timestamp of the fire, when
// the kernel prints timestamps.
func logFireDelay(t *testing.T, after string) {
	hang := regexp.MustCompile(`^ ([0-9.]+)`).FindStringSubmatch(after)
	fire := regexp.MustCompile(`\[ *([0-9.]+)\] softdog: Triggered`).FindStringSubmatch(after)
	if hang == nil || fire == nil {
		t.Log("no timestamps to measure the time from the hang to the fire")
		return
	}
	h, _ := strconv.ParseFloat(hang[1], 64)
	f, _ := strconv.ParseFloat(fire[1], 64)
	t.Logf("softdog (timeout 3s, keepalive every 1.5s) fired %.2fs after the hang", f-h)
}

// vmCheckBuried waits for the crasher's burial to fire softdog, asks
// fire-watchdog with the device closed (refused), stops and starts the
// task (the device opened again), asks fire-watchdog again, and ends.
const vmCheckBuried = `#!/bin/sh
sleep 6
echo "CHECK after burial" > /dev/console
respawnctl fire-watchdog
echo "CHECK closed fire exit $?"
respawnctl stop watchdog
respawnctl start watchdog
sleep 2
echo "CHECK firing" > /dev/console
respawnctl fire-watchdog
echo "CHECK fire exit $?"
sleep 3
kill -TERM 1
exec sleep 1000
`

// TestVMWatchdogResetOnBuried: with --watchdog-reset-on=buried, a
// server's burial fires the device at once (timeout 1 s, no magic close),
// and so does respawnctl fire-watchdog.
func TestVMWatchdogResetOnBuried(t *testing.T) {
	kernel := vmNeeds(t)
	r := vm{
		early: vmWatchdogEarly,
		args: []string{"--watchdog-device=/dev/watchdog1", "--watchdog-timeout=30", "--watchdog-reset-on=buried",
			"{", "@check", "/bin/check", "}", "{", "@crash", "--retries=0", "sh", "-c", "sleep 2; exit 1", "}"},
		files: vmWatchdogFiles(t, kernel, map[string]string{"bin/check": vmCheckBuried}),
		qemu:  []string{"-device", "i6300esb", "-watchdog-action", "debug"},
	}.boot(t)
	defer func() {
		if t.Failed() {
			t.Logf("console:\n%s", r.console)
		}
	}()
	vmWant(t, r, `msg="watchdog: firing: the machine resets in about a second" device=/dev/watchdog1 why="server crash buried"`,
		softdogFired, "CHECK after burial", `why="asked by an operator"`, softdogFired, "respawn: powering off",
		"CHECK closed fire exit 1", "CHECK fire exit 0")
	if n := strings.Count(r.console, softdogFired); n != 2 {
		t.Errorf("softdog fired %d times; want 2 (the burial, fire-watchdog)", n)
	}
	before, _, _ := strings.Cut(r.console, "watchdog: firing")
	if strings.Contains(before, softdogFired) {
		t.Error("softdog fired before the burial")
	}
}
