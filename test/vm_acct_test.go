//go:build linux

package test

import "testing"

// vmCrashAccounted waits until the kernel writes accounting records (the
// exits of its own sleeps), then dies of SIGSEGV.
const vmCrashAccounted = `#!/bin/sh
i=0
while [ ! -s /run/pacct_source ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
echo CHECK crashing
kill -SEGV $$
`

// TestVMAcctExitWhenBuried boots respawn --acct --exit-when-buried as the
// machine's PID 1, in the initial pid namespace where accounting is the
// machine's: a server killed by SIGSEGV is buried with the kernel's
// accounting record on its BURIED line, and then, as nothing can run,
// respawn powers the machine off with the status it would have exited
// with, instead of exiting (a kernel panic).
func TestVMAcctExitWhenBuried(t *testing.T) {
	r := vm{
		early: "mount -t proc proc /proc",
		args:  []string{"--control=none", "--acct", "--exit-when-buried", "{", "@crash", "--retries=0", "/bin/crash", "}"},
		files: map[string]string{"bin/crash": vmCrashAccounted},
	}.boot(t)
	defer func() {
		if t.Failed() {
			t.Logf("console:\n%s", r.console)
		}
	}()
	vmWant(t, r, "CHECK crashing", "msg=BURIED", `acct.exit="signal SIGSEGV"`, "--exit-when-buried",
		"respawn exiting", `respawn: powering off" status=1`, "reboot: Power down")
}
