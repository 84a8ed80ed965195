//go:build linux

package acct

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// acctLockPath is the machine-wide lock of the kernel's accounting, which
// is one per pid namespace: every test that switches it on, in any
// package, holds it until accounting is off again.
const acctLockPath = "/run/respawn-acct-test.lock"

// acctTestLock takes the machine-wide accounting lock, waiting for it, and
// releases it at the test's end: register it before any cleanup that
// switches accounting off, so that it is released after them.
func acctTestLock(t *testing.T) {
	t.Helper()
	f, err := os.OpenFile(acctLockPath, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatalf("acct test lock: %v", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		t.Fatalf("acct test lock %s: %v", acctLockPath, err)
	}
	t.Cleanup(func() { f.Close() })
}
