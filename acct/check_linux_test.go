//go:build linux

package acct

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"respawn/internal/acctest"
)

// safeDir makes a directory Check accepts: root's, mode 0755.
func safeDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "top")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// checkRefused checks that Check refuses dir with want, in one line that
// names each of words.
func checkRefused(t *testing.T, dir string, want error, words ...string) {
	t.Helper()
	err := Check(Config{Dir: dir})
	if !errors.Is(err, want) {
		t.Fatalf("Check(%s) = %v, want %v", dir, err, want)
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "acct: ") {
		t.Errorf("refusal %q: want one line starting with \"acct: \"", msg)
	}
	for _, w := range words {
		if !strings.Contains(msg, w) {
			t.Errorf("refusal %q does not name %q", msg, w)
		}
	}
}

// TestIntegrationCheckUnsafeDir checks that a directory another user
// could write to, or swap, is refused before anything is made in it.
func TestIntegrationCheckUnsafeDir(t *testing.T) {
	tests := []struct {
		name string
		make func(t *testing.T, path string)
		why  string
	}{
		{"owned by nobody", func(t *testing.T, path string) { mkdirOwned(t, path, 0o755, nobody) }, "not owned by root"},
		{"mode 0775", func(t *testing.T, path string) { mkdirOwned(t, path, 0o775, 0) }, "writable by group or others"},
		{"mode 0757", func(t *testing.T, path string) { mkdirOwned(t, path, 0o757, 0) }, "writable by group or others"},
		{"a symlink to a good directory", func(t *testing.T, path string) { symlinkTo(t, safeDir(t), path) }, "not a directory"},
		{"a file", func(t *testing.T, path string) { writeEmpty(t, path) }, "not a directory"},
		{"missing", func(*testing.T, string) {}, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "top")
			tt.make(t, path)
			checkRefused(t, path, ErrUnsafeDir, path, tt.why)
			if entries, _ := os.ReadDir(path); len(entries) != 0 {
				t.Errorf("Check made %d entries in %s", len(entries), path)
			}
		})
	}
}

func mkdirOwned(t *testing.T, path string, mode os.FileMode, uid int) {
	t.Helper()
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // past the umask
		t.Fatal(err)
	}
	if err := os.Chown(path, uid, uid); err != nil {
		t.Fatal(err)
	}
}

func symlinkTo(t *testing.T, target, path string) {
	t.Helper()
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
}

func writeEmpty(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestIntegrationCheckFull checks that a directory on a full file system
// (a small tmpfs, filled) is refused, naming it.
func TestIntegrationCheckFull(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tmpfs")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=256k,mode=0755"); err != nil {
		t.Fatalf("mount a tmpfs on %s: %v", dir, err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	fill(t, filepath.Join(dir, "fill"))
	checkRefused(t, dir, ErrFull, dir, "95%")
}

// fill writes path until its file system has no room left.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	block := make([]byte, 4096)
	for range 1 << 20 {
		if _, err := f.Write(block); errors.Is(err, syscall.ENOSPC) {
			return
		} else if err != nil {
			t.Fatal(err)
		}
	}
	t.Fatalf("%s: never full", path)
}

// TestIntegrationCheckAtopacctd checks that a running atopacctd (the real
// one, on a directory of its own) is refused, whatever the directory
// asked for: there is one kernel accounting.
func TestIntegrationCheckAtopacctd(t *testing.T) {
	acctTestLock(t)
	acctest.StartAtopacctd(t, safeDir(t))
	checkRefused(t, safeDir(t), ErrRunning, "already running")
}

// TestIntegrationCheckStaleSemaphore checks that a private semaphore at 0,
// as a daemon that died leaves it, is no refusal.
func TestIntegrationCheckStaleSemaphore(t *testing.T) {
	acctTestLock(t)
	id, err := semGet(PrivateKey, 0, 0)
	if errors.Is(err, unix.ENOENT) {
		id = makeSem(t, PrivateKey, 1)
	} else if err != nil {
		t.Fatal(err)
	}
	if v, err := semCtl(id, 0, getVal, 0); err != nil || v != 0 {
		t.Fatalf("private semaphore %d: %d, %v: want a stale 0", PrivateKey, v, err)
	}
	if err := Check(Config{Dir: safeDir(t)}); err != nil {
		t.Fatalf("Check with a stale private semaphore: %v", err)
	}
}

// makeSem makes the semaphore set key of n semaphores at 0; the cleanup
// removes it.
func makeSem(t *testing.T, key, n int) int {
	t.Helper()
	id, err := semGet(key, n, 0o600|unix.IPC_CREAT|unix.IPC_EXCL)
	if err != nil {
		t.Fatalf("semaphore set %d: %v", key, err)
	}
	t.Cleanup(func() {
		if _, err := semCtl(id, 0, unix.IPC_RMID, 0); err != nil {
			t.Errorf("remove semaphore set %d: %v", key, err)
		}
	})
	return id
}

// TestIntegrationCheckOtherAccounting checks that an accounting psacct
// would have switched on (to /var/log/account/pacct) is refused, naming
// its file, and is still on, to that file, afterwards.
func TestIntegrationCheckOtherAccounting(t *testing.T) {
	acctTestLock(t)
	path := psacctOn(t)
	checkRefused(t, safeDir(t), ErrOtherActive, path)
	before, _ := fileSize(path)
	ended(t, exec.Command("true"), nil)
	if after, _ := fileSize(path); after <= before {
		t.Errorf("%s did not grow after the refusal: accounting is no longer on to it", path)
	}
}

// psacctOn switches accounting on to /var/log/account/pacct, as psacct
// does; the cleanup switches it off and removes what it made.
func psacctOn(t *testing.T) string {
	t.Helper()
	const dir, path = "/var/log/account", "/var/log/account/pacct"
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		t.Cleanup(func() { os.Remove(dir) })
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		writeEmpty(t, path)
		t.Cleanup(func() { os.Remove(path) })
	}
	t.Cleanup(func() { accountingOff(t) })
	if err := On(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestIntegrationProbeExit checks that ProbeExit returns once a process
// of ours ended, its record written: AFORK (it never exec'd) and this
// process as its parent.
func TestIntegrationProbeExit(t *testing.T) {
	acctTestLock(t)
	path := accountingOn(t)
	if err := ProbeExit(); err != nil {
		t.Fatal(err)
	}
	recs := readRecords(t, path)
	for _, r := range recs {
		if r.Flags&AFORK != 0 && r.PPid == uint32(os.Getpid()) {
			return
		}
	}
	t.Fatalf("no record of ProbeExit's child among %d", len(recs))
}

// TestIntegrationCheckAtopOwn checks that an atop that switched
// accounting on itself (its semaphore set AtopKey, semaphore 1 below
// PublicTotal while it runs) is refused, naming its file.
func TestIntegrationCheckAtopOwn(t *testing.T) {
	acctTestLock(t)
	id, err := semGet(AtopKey, 0, 0)
	if errors.Is(err, unix.ENOENT) {
		id = makeSem(t, AtopKey, 2)
		semAdd(t, id, 1, PublicTotal) // as atop makes it: [0] 1, [1] 100
		semAdd(t, id, 0, 1)
	} else if err != nil {
		t.Fatal(err)
	}
	if err := Check(Config{Dir: safeDir(t)}); err != nil {
		t.Fatalf("Check with atop's set and no atop: %v", err)
	}
	semAdd(t, id, 1, -1) // an atop uses its own accounting
	t.Cleanup(func() { semAdd(t, id, 1, 1) })
	checkRefused(t, safeDir(t), ErrOtherActive, atopOwnFile)
}

// semAdd adds v to semaphore n of the set id, with no undo: the test
// takes it back itself.
func semAdd(t *testing.T, id, n, v int) {
	t.Helper()
	if err := semOp(id, sembuf{uint16(n), int16(v), unix.IPC_NOWAIT}); err != nil {
		t.Fatalf("semaphore %d %+d on set %d: %v", n, v, id, err)
	}
}
