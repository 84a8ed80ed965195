//go:build linux

package test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"respawn/acct"
	"respawn/internal/acctest"
)

// TestAcctRefusals checks that respawn --acct refuses to start where it
// could not be atop's daemon, or would take another accounting over: one
// line on stderr naming the cause, exit 2, no server started, and the
// other accounting left as it was.
func TestAcctRefusals(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T) (dir string, after func(t *testing.T))
		words []string
	}{
		{"a directory writable by group", unsafeAcctDir, []string{"writable by group or others"}},
		{"a full file system", fullAcctDir, []string{"95%"}},
		{"atopacctd running", atopacctdRunning, []string{"already running"}},
		{"another accounting on", psacctRunning, []string{"/var/log/account/pacct"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acctTestLock(t)
			t.Cleanup(func() { checkNoChildren(t) })
			dir, after := tt.setup(t)
			started := tempFile(t, "started")
			code, _, stderr := runUsage(t, "--control=none", "--acct", "--acct-dir="+dir,
				"{", "sh", "-c", "echo started >> "+started+"; exec sleep 1000", "}")
			if code != 2 || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "respawn: acct: ") {
				t.Errorf("exit %d, stderr %q; want exit 2 and one line \"respawn: acct: ...\"", code, stderr)
			}
			for _, w := range tt.words {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q does not name %q", stderr, w)
				}
			}
			if l := lines(started); len(l) != 0 {
				t.Errorf("the server was started: %v", l)
			}
			after(t)
		})
	}
}

// TestAcctDirWithoutAcct checks that --acct-dir alone is refused: it
// would do nothing, silently.
func TestAcctDirWithoutAcct(t *testing.T) {
	started := tempFile(t, "started")
	code, _, stderr := runUsage(t, "--control=none", "--acct-dir="+t.TempDir(), "{", "sh", "-c", "echo started >> "+started, "}")
	if code != 2 || !strings.Contains(stderr, "--acct-dir needs --acct") {
		t.Errorf("exit %d, stderr %q; want exit 2 and --acct-dir refused", code, stderr)
	}
	if l := lines(started); len(l) != 0 {
		t.Errorf("the server was started: %v", l)
	}
}

func nothingAfter(*testing.T) {}

// acctDir makes a directory of root's with mode.
func acctDir(t *testing.T, mode os.FileMode) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "top")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, mode); err != nil {
		t.Fatal(err)
	}
	return dir
}

// unsafeAcctDir is a directory others of the group may write to: they
// could replace the source or the shadow files. Nothing must be made in it.
func unsafeAcctDir(t *testing.T) (string, func(*testing.T)) {
	dir := acctDir(t, 0o775)
	return dir, func(t *testing.T) {
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Errorf("%s holds %d entries after the refusal, want none", dir, len(ents))
		}
	}
}

// fullAcctDir is a small tmpfs, filled; the cleanup unmounts it.
func fullAcctDir(t *testing.T) (string, func(*testing.T)) {
	dir := acctDir(t, 0o755)
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=256k,mode=0755"); err != nil {
		t.Fatalf("mount a tmpfs on %s: %v", dir, err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	f, err := os.Create(filepath.Join(dir, "fill"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for err == nil {
		_, err = f.Write(make([]byte, 4096))
	}
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatal(err)
	}
	return dir, nothingAfter
}

// atopacctdRunning starts the real atopacctd on a directory of its own;
// respawn is given another. atopacctd must run on afterwards.
func atopacctdRunning(t *testing.T) (string, func(*testing.T)) {
	pid := acctest.StartAtopacctd(t, acctDir(t, 0o755))
	return acctDir(t, 0o755), func(t *testing.T) {
		if err := syscall.Kill(pid, 0); err != nil {
			t.Errorf("atopacctd %d after the refusal: %v", pid, err)
		}
	}
}

// psacctRunning switches accounting on to psacct's file, as accton does;
// it must still be on, to that file, after the refusal.
func psacctRunning(t *testing.T) (string, func(*testing.T)) {
	const dir, path = "/var/log/account", "/var/log/account/pacct"
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		t.Cleanup(func() { os.Remove(dir) })
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		t.Cleanup(func() { os.Remove(path) })
	}
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { acctOff(t) })
	if err := acct.On(path); err != nil {
		t.Fatal(err)
	}
	return acctDir(t, 0o755), func(t *testing.T) {
		before := fileSize(path)
		if err := exec.Command("true").Run(); err != nil {
			t.Fatal(err)
		}
		if fileSize(path) <= before {
			t.Errorf("%s does not grow after the refusal: accounting is no longer on to it", path)
		}
	}
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return -1
	}
	return fi.Size()
}

// acctOff switches the kernel's accounting off.
func acctOff(t *testing.T) {
	if err := acct.Off(); err != nil {
		t.Errorf("switch accounting off: %v", err)
	}
}
