// Package acctest holds what the tests of package acct and the end-to-end
// tests share about the kernel's accounting: the real atopacctd, started
// and ended by pid. It imports nothing of respawn, so that package acct's
// own tests may use it.
package acctest

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// AtopacctdPidFile is where atopacctd writes its pid, whatever its
// directory (atop's atopacctd.h).
const AtopacctdPidFile = "/run/atopacctd.pid"

// StartAtopacctd starts /usr/sbin/atopacctd on dir and returns its pid;
// the cleanup ends it with SIGTERM (it switches accounting off itself),
// waits until it is gone, and switches accounting off anyway.
func StartAtopacctd(t testing.TB, dir string) int {
	t.Helper()
	os.Remove(AtopacctdPidFile) // a stale one: the lock says none runs
	// Its daemon keeps stderr open: a file, not a pipe, that no one waits on.
	errs, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer errs.Close()
	cmd := exec.Command("/usr/sbin/atopacctd", dir)
	cmd.Stderr = errs
	if err := cmd.Run(); err != nil {
		out, _ := os.ReadFile(errs.Name())
		t.Fatalf("atopacctd %s: %v: %s", dir, err, out)
	}
	pid := AtopacctdPid(t)
	t.Cleanup(func() { stopAtopacctd(t, pid) })
	return pid
}

// AtopacctdPid reads the pid atopacctd wrote (before its first process,
// which exec.Command waited for, ended) and checks that it runs.
func AtopacctdPid(t testing.TB) int {
	t.Helper()
	b, err := os.ReadFile(AtopacctdPidFile)
	if err != nil {
		t.Fatalf("atopacctd did not start: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		t.Fatalf("%s: %q", AtopacctdPidFile, b)
	}
	comm, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	if strings.TrimSpace(string(comm)) != "atopacctd" {
		t.Fatalf("pid %d of %s is %q, not atopacctd", pid, AtopacctdPidFile, comm)
	}
	return pid
}

// stopAtopacctd ends atopacctd pid and waits (10 s at most) until it is
// gone, reaped (a test process that is a subreaper may be its parent);
// accounting is switched off (acct(NULL)) whatever happened.
func stopAtopacctd(t testing.TB, pid int) {
	defer func() {
		if _, _, errno := unix.Syscall(unix.SYS_ACCT, 0, 0, 0); errno != 0 {
			t.Errorf("acct(NULL): %v", errno)
		}
	}()
	if err := unix.Kill(pid, unix.SIGTERM); err != nil {
		t.Errorf("kill atopacctd %d: %v", pid, err)
		return
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		var ws unix.WaitStatus
		_, _ = unix.Wait4(pid, &ws, unix.WNOHANG, nil)
		if err := unix.Kill(pid, 0); errors.Is(err, unix.ESRCH) {
			os.Remove(AtopacctdPidFile)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("atopacctd %d still runs 10 s after SIGTERM", pid)
}
