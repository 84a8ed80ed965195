//go:build linux

package test

import (
	"strings"
	"testing"
)

// vmOrphanServer leaves an orphan behind: a subshell starts a sleeper
// that writes its pid, and exits, so the sleeper is reparented to PID 1.
const vmOrphanServer = `#!/bin/sh
( sh -c 'echo $$ > /tmp/orphan; exec sleep 1' & )
exec sleep 1000
`

// vmCheckOrphan waits for the orphan, checks that PID 1 adopted it and
// that once dead it is reaped (its /proc entry gone, not a zombie), counts
// the zombies left on the machine, then sends SIGTERM to PID 1.
const vmCheckOrphan = `#!/bin/sh
mount -t proc proc /proc
i=0
while [ ! -s /tmp/orphan ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
pid=$(cat /tmp/orphan)
echo "CHECK orphan $pid ppid $(grep PPid /proc/$pid/status | tr -d '\t')"
i=0
while [ -e /proc/$pid ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
if [ -e /proc/$pid ]; then echo "CHECK orphan not reaped: $(grep State /proc/$pid/status)"; else echo "CHECK orphan reaped"; fi
echo "CHECK zombies $(cat /proc/[0-9]*/stat 2>/dev/null | grep -c '^[0-9]* ([^)]*) Z')"
kill -TERM 1
exec sleep 1000
`

// TestVMPid1PowersOff boots a machine whose PID 1 is respawn: it must reap
// an orphan of a server, and on SIGTERM stop its servers and power the
// machine off (qemu exits) rather than exit, which panics the kernel
// ("Attempted to kill init"), as respawn did before --on-exit.
func TestVMPid1PowersOff(t *testing.T) {
	r := vm{
		args:  []string{"--control=none", "{", "@orphans", "/bin/orphans", "}", "{", "@check", "/bin/check", "}"},
		files: map[string]string{"bin/orphans": vmOrphanServer, "bin/check": vmCheckOrphan},
	}.boot(t)
	defer func() {
		if t.Failed() {
			t.Logf("console:\n%s", r.console)
		}
	}()
	vmWant(t, r, "ppid PPid:1", "CHECK orphan reaped", "CHECK zombies 0", "shutting down", "respawn exiting",
		"respawn: powering off", "reboot: Power down")
}

// TestVMPid1Reboots boots respawn as PID 1 with --on-exit=reboot: the end
// of its servers reboots the machine (qemu's -no-reboot makes that an
// exit).
func TestVMPid1Reboots(t *testing.T) {
	r := vm{
		args:  []string{"--control=none", "--on-exit=reboot", "{", "@check", "/bin/check", "}"},
		files: map[string]string{"bin/check": "#!/bin/sh\necho CHECK up\nexit 0\n"},
	}.boot(t)
	defer func() {
		if t.Failed() {
			t.Logf("console:\n%s", r.console)
		}
	}()
	vmWant(t, r, "CHECK up", "respawn exiting", "respawn: rebooting", "reboot: Restarting system")
}

// vmWant fails t unless qemu exited by itself (no timeout) with no kernel
// panic on the console, which shows each of want in order (the check's
// own CHECK and ppid lines anywhere: capture may write them late).
func vmWant(t *testing.T, r vmRun, want ...string) {
	t.Helper()
	if p := vmPanicked(r.console); p != "" {
		t.Errorf("the kernel panicked:\n%s", p)
	}
	if r.err != nil {
		t.Errorf("qemu did not exit by itself: %v", r.err)
	}
	rest := r.console
	for _, w := range want {
		if strings.HasPrefix(w, "CHECK") || strings.HasPrefix(w, "ppid") {
			// The check's own output reaches the console through
			// respawn's capture, which may write it after respawn's
			// next line of its own: it is looked for anywhere.
			if !strings.Contains(r.console, w) {
				t.Errorf("the console does not show %q", w)
			}
			continue
		}
		i := strings.Index(rest, w)
		if i < 0 {
			t.Errorf("the console does not show %q (after the lines before it)", w)
			continue
		}
		rest = rest[i+len(w):]
	}
}
