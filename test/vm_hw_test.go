//go:build linux

package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// vmCheckHW loads the watchdog modules (the i6300esb becomes watchdog0,
// softdog, which only logs when it fires, watchdog1), runs hwcheck on
// both, then sends SIGTERM to PID 1.
const vmCheckHW = `#!/bin/sh
busybox insmod /lib/watchdog.ko
busybox insmod /lib/i6300esb.ko
busybox insmod /lib/softdog.ko soft_noboot=1 soft_margin=3
/bin/hwcheck /dev/watchdog0 /dev/watchdog1
echo "CHECK hwcheck exit $?"
kill -TERM 1
exec sleep 1000
`

// The console lines of a fire: softdog's, and qemu's for the i6300esb
// under -watchdog-action debug.
const (
	softdogFired = "softdog: Triggered"
	esbFired     = "watchdog: timer fired"
)

// TestVMHardwareWatchdog boots a machine with an i6300esb and softdog and
// drives both through package hw: identity, boot status and the timeout
// applied are read, the timeout again through the descriptor adopted as
// after a live upgrade; petted for three timeouts, neither fires; magic
// closed, neither fires for two timeouts; no longer petted, both fire;
// opened again and closed by Fire (timeout 1 s, no magic close), both
// fire again.
func TestVMHardwareWatchdog(t *testing.T) {
	kernel := vmNeeds(t)
	files := map[string]string{"bin/check": vmCheckHW, "bin/hwcheck": hwcheckBinary(t)}
	for _, m := range []string{"watchdog", "i6300esb", "softdog"} {
		files["lib/"+m+".ko"] = vmModule(t, kernel, m)
	}
	r := vm{
		args:  []string{"--control=none", "{", "@check", "/bin/check", "}"},
		files: files,
		qemu:  []string{"-device", "i6300esb", "-watchdog-action", "debug"},
	}.boot(t)
	defer func() {
		if t.Failed() {
			t.Logf("console:\n%s", r.console)
		}
	}()
	vmWant(t, r, `HW /dev/watchdog0 identity "i6300ESB timer"`, "HW /dev/watchdog0 timeout applied 2s read when adopted 2s bootstatus",
		`HW /dev/watchdog1 identity "Software Watchdog"`, "HW /dev/watchdog1 timeout applied 2s read when adopted 2s bootstatus 0x0",
		"HW petting", "HW petted", "HW disarmed", "HW quiet", "HW stop petting", softdogFired, "HW end", "HW fire", softdogFired, "HW fired", "CHECK hwcheck exit 0",
		"respawn: powering off")
	_, after, _ := strings.Cut(r.console, "HW petting")
	calm, stopped, _ := strings.Cut(after, "HW stop petting")
	stopped, fired, _ := strings.Cut(stopped, "HW fire\n")
	for _, f := range []string{softdogFired, esbFired} {
		if strings.Contains(calm, f) {
			t.Errorf("a watchdog fired (%q) while petted or after the magic close", f)
		}
		if !strings.Contains(stopped, f) {
			t.Errorf("no %q once the petting stopped", f)
		}
		if !strings.Contains(fired, f) {
			t.Errorf("no %q after Fire", f)
		}
	}
}

// hwcheckBinary builds testdata/hwcheck, static, and returns its bytes.
func hwcheckBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "hwcheck")
	staticBuild(t, bin, "./testdata/hwcheck")
	b, err := os.ReadFile(bin)
	vmMust(t, err)
	return string(b)
}

// vmModule returns the module name of the kernel's package, decompressed
// (busybox insmod reads no .ko.xz).
func vmModule(t *testing.T, kernel, name string) string {
	t.Helper()
	dir := filepath.Join("/lib/modules", strings.TrimPrefix(filepath.Base(kernel), "vmlinuz-"), "kernel/drivers/watchdog")
	if b, err := os.ReadFile(filepath.Join(dir, name+".ko")); err == nil {
		return string(b)
	}
	b, err := exec.Command("xz", "-dc", filepath.Join(dir, name+".ko.xz")).Output()
	if err != nil {
		t.Fatalf("module %s of %s: %v", name, dir, err)
	}
	return string(b)
}
