//go:build linux

package test

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// A server's orphan is adopted by respawn (a child subreaper) and reaped
// when it dies, never left a zombie; an orphan still running at the stop
// is ended with the servers.
func TestOrphansReaped(t *testing.T) {
	f1, f2 := tempFile(t, "orphan1"), tempFile(t, "orphan2")
	s := begin(t, "--retries=0", "--interval=1h",
		"{", selfBin, "helper", "orphan", f1, "}",
		"{", selfBin, "helper", "orphan", f2, "}")
	s.waitLog(1, msg("BURIED", "server", 1, "exit", "exit 1"))
	s.waitLog(1, msg("BURIED", "server", 2, "exit", "exit 1"))
	o1, o2 := waitPidFile(t, f1), waitPidFile(t, f2)
	for _, o := range []int{o1, o2} {
		ppid, st := procStat(o)
		if ppid != s.Pid || st == 'Z' || st == 0 {
			t.Fatalf("orphan %d: parent %d state %c, want a running child of respawn (%d)", o, ppid, st, s.Pid)
		}
	}
	if err := unix.Kill(o1, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the dead orphan reaped", func() bool { return gone(o1) })
	if s.exited() {
		t.Fatal("respawn exited")
	}
	if code := s.stop(); code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	if !gone(o2) {
		t.Errorf("orphan %d outlived respawn: %s", o2, cmdline(o2))
		killWait(t, o2)
	}
}

// As PID 1 of a new pid namespace (a container's init), respawn runs its
// servers, reaps the orphans that come to it, and stops everything on
// SIGTERM.
func TestIntegrationPID1(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("unshare --pid --mount-proc needs root")
	}
	file := tempFile(t, "orphan")
	s, init := launchPID1(t, "--log-format=json", "--control=none", "--retries=0", "--interval=1h",
		"{", selfBin, "helper", "sleep", "}",
		"{", selfBin, "helper", "orphan", file, "}")
	s.waitLog(1, msg("respawn started", "pid", 1, "pid1", true))
	s.waitLog(1, msg("ALIVE", "server", 1))
	s.waitLog(1, msg("BURIED", "server", 2, "exit", "exit 1"))

	nsOrphan := waitPidFile(t, file)
	var orphan, server int // pids outside the namespace
	eventually(t, "the orphan and the server as children of respawn", func() bool {
		for _, k := range children(init) {
			switch c := cmdline(k); {
			case c == "sleep 300":
				orphan = k
			case strings.HasSuffix(c, "helper sleep"):
				server = k
			}
		}
		return orphan > 0 && server > 0
	})
	if got := nsPid(t, orphan); got != nsOrphan {
		t.Errorf("the orphan is pid %d in the namespace, its file says %d", got, nsOrphan)
	}
	if err := unix.Kill(orphan, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the dead orphan reaped by PID 1", func() bool { return gone(orphan) })

	if err := unix.Kill(init, unix.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := s.wait(); code != 1 {
		t.Errorf("exit status %d, want 1 (a server is buried)", code)
	}
	s.waitLog(1, msg("CREMATED", "server", 1, "exit", "signal SIGTERM"))
	for _, pid := range []int{server, init} {
		if !gone(pid) {
			t.Errorf("pid %d outlived the stop: %s", pid, cmdline(pid))
		}
	}
}

// nsPid is pid's number in its own (innermost) pid namespace.
func nsPid(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 1 && f[0] == "NSpid:" {
			n, _ := strconv.Atoi(f[len(f)-1])
			return n
		}
	}
	t.Fatalf("no NSpid for %d", pid)
	return 0
}
