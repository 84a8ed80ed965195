//go:build linux

package acct

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// acctTestLockPath is the machine-wide lock of the tests that switch the
// kernel's accounting on: it is one per pid namespace, and go test runs
// packages in parallel.
const acctTestLockPath = "/run/respawn-acct-test.lock"

// acctTestLock holds the machine-wide lock until the test ends. Take it
// before anything that switches accounting on: cleanups run in reverse,
// so it is released last, once accounting is off again.
func acctTestLock(t *testing.T) {
	t.Helper()
	f, err := os.OpenFile(acctTestLockPath, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		t.Fatalf("lock %s: %v", acctTestLockPath, err)
	}
	t.Cleanup(func() { f.Close() }) // closing releases the lock
}
