//go:build linux

package test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// Exit 0 and death by SIGTERM or SIGINT cremate; when every server is
// cremated the supervisor exits by itself, with status 0.
func TestCleanEndingsCremate(t *testing.T) {
	s := begin(t, "--interval=1h",
		"{", selfBin, "helper", "exit", "0", "}",
		"{", selfBin, "helper", "sleep", "}",
		"{", selfBin, "helper", "sleep", "}")
	s.waitLog(1, msg("CREMATED", "server", 1, "exit", "exit 0", "from", "ALIVE"))
	for i, sig := range []unix.Signal{unix.SIGTERM, unix.SIGINT} {
		pid := attr(s.waitLog(1, msg("ALIVE", "server", i+2)), "pid")
		if err := unix.Kill(pid, sig); err != nil {
			t.Fatal(err)
		}
		s.waitLog(1, msg("CREMATED", "server", i+2, "pid", pid, "exit", "signal "+unix.SignalName(sig)))
	}
	if code := s.wait(); code != 0 {
		t.Errorf("exit status %d after clean endings only, want 0", code)
	}
	s.waitLog(1, msg("respawn exiting", "status", 0))
	if n := s.count(msg("BURIED")) + s.count(msg("DEAD")); n != 0 {
		t.Errorf("%d BURIED or DEAD lines", n)
	}
}

// With --retries=0, an abnormal death sooner than --interval buries at
// once: no restart follows (mds-respawn's burial, kept exactly).
func TestEarlyDeathBuries(t *testing.T) {
	s := begin(t, "--retries=0", "--interval=1h",
		"{", selfBin, "helper", "exit", "3", "}",
		"{", selfBin, "helper", "sleep", "}")
	s.waitLog(1, msg("BURIED", "server", 1, "exit", "exit 3", "from", "ALIVE"))
	pid := attr(s.waitLog(1, msg("ALIVE", "server", 2)), "pid")
	if err := unix.Kill(pid, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	l := s.waitLog(1, msg("BURIED", "server", 2, "exit", "signal SIGKILL"))
	if l["level"] != "WARN" || attr(l, "pid") != pid {
		t.Errorf("burial line %v, want level WARN and pid %d", l, pid)
	}
	// Both are buried: the supervisor keeps them (for SIGUSR2) and stays.
	s.signal(unix.SIGUSR1)
	d := s.waitLog(1, msg("info dump"))
	if c := d["counts"].(map[string]any); c["buried"] != float64(2) {
		t.Errorf("counts %v, want 2 buried", c)
	}
	if n := s.count(msg("ALIVE", "server", 1)); n != 1 {
		t.Errorf("server 1 started %d times, want once", n)
	}
	if code := s.stop(); code != 1 {
		t.Errorf("exit status %d with buried servers, want 1", code)
	}
}

// An abnormal death later than --interval respawns at once, with a new pid
// and restarts=1, then 2.
func TestLateDeathRespawns(t *testing.T) {
	s := begin(t, "--interval=200ms", "{", selfBin, "helper", "sleep", "}")
	pid := attr(s.waitLog(1, msg("ALIVE", "server", 1, "from", "UNBORN")), "pid")
	for n := 1; n <= 2; n++ {
		waitLived(t, s, 1, 200e6)
		if err := unix.Kill(pid, unix.SIGKILL); err != nil {
			t.Fatal(err)
		}
		s.waitLog(1, msg("DEAD", "server", 1, "pid", pid, "exit", "signal SIGKILL"))
		l := s.waitLog(n, msg("ALIVE", "server", 1, "from", "DEAD"))
		if attr(l, "pid") == pid || attr(l, "pid") <= 0 {
			t.Fatalf("respawned with pid %v, the old one was %d", l["pid"], pid)
		}
		if attr(l, "restarts") != n {
			t.Errorf("restarts %v, want %d", l["restarts"], n)
		}
		pid = attr(l, "pid")
		if !alive(pid) {
			t.Fatalf("respawned pid %d is not running", pid)
		}
	}
	if code := s.stop(); code != 0 {
		t.Errorf("exit status %d, want 0: the server ended on SIGTERM", code)
	}
}

// A program that cannot be executed is buried at spawn with the exec
// error in the log: it never had a pid, and no exit status is made up.
func TestExecErrorsBury(t *testing.T) {
	dir := t.TempDir()
	noexec := filepath.Join(dir, "noexec.sh")
	if err := os.WriteFile(noexec, []byte("#!/bin/sh\nsleep 100\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(dir, "garbage")
	if err := os.WriteFile(garbage, []byte("\x7fELF but not really\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	s := begin(t, "--interval=1h",
		"{", filepath.Join(dir, "missing"), "}",
		"{", noexec, "}",
		"{", "respawn-test-no-such-command", "}",
		"{", garbage, "}")
	want := []string{"no such file or directory", "permission denied", "executable file not found", "exec format error"}
	for i, w := range want {
		l := s.waitLog(1, msg("BURIED", "server", i+1, "from", "UNBORN", "pid", 0))
		e, _ := l["error"].(string)
		if !strings.Contains(e, w) || l["level"] != "ERROR" {
			t.Errorf("server %d buried with error %q at %v, want %q at ERROR", i+1, e, l["level"], w)
		}
		if _, ok := l["exit"]; ok {
			t.Errorf("server %d: an exit %v for a program that never ran", i+1, l["exit"])
		}
	}
	if n := s.count(msg("ALIVE")); n != 0 {
		t.Errorf("%d ALIVE lines", n)
	}
	// A revive tries again, and buries again with the error.
	s.signal(unix.SIGUSR2)
	for i := range want {
		s.waitLog(1, msg("BURIED", "server", i+1, "from", "BURIED", "pid", 0))
	}
	if code := s.stop(); code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
}

// --initial-spawn in a server's argv is what its first start gets; every
// later start gets --respawn instead, and the log shows each start's argv.
func TestInitialSpawnBecomesRespawn(t *testing.T) {
	file := tempFile(t, "record")
	s := begin(t, "--interval=200ms", "{", selfBin, "helper", "record", file, "--initial-spawn", "x", "}")
	l := s.waitLog(1, msg("ALIVE", "server", 1))
	if want := helperCmd("record", file, "--initial-spawn", "x"); l["cmd"] != want {
		t.Errorf("first start logged cmd %q, want %q", l["cmd"], want)
	}
	for n := 1; n <= 2; n++ {
		waitLines(t, file, n)
		waitLived(t, s, 1, 200e6)
		killWait(t, s.pidOf(1))
		l = s.waitLog(n, msg("ALIVE", "server", 1, "from", "DEAD"))
		if want := helperCmd("record", file, "--respawn", "x"); l["cmd"] != want {
			t.Errorf("restart %d logged cmd %q, want %q", n, l["cmd"], want)
		}
	}
	rec := waitLines(t, file, 3)
	want := []string{file + " --initial-spawn x", file + " --respawn x", file + " --respawn x"}
	for i, line := range rec {
		pidArgs := strings.SplitN(line, " ", 2)
		if len(pidArgs) != 2 || pidArgs[1] != want[i] {
			t.Errorf("start %d ran with %q, want %q", i+1, line, want[i])
		}
	}
	if code := s.stop(); code != 0 {
		t.Errorf("exit status %d, want 0", code)
	}
}

// SIGUSR2 revives every buried server, and only those.
func TestRevive(t *testing.T) {
	s := begin(t, "--retries=0", "--interval=1h",
		"{", selfBin, "helper", "exit", "3", "}",
		"{", selfBin, "helper", "sleep", "}",
		"{", selfBin, "helper", "exit", "4", "100ms", "}")
	s.waitLog(1, msg("BURIED", "server", 1))
	s.waitLog(1, msg("BURIED", "server", 3))
	alivePid := attr(s.waitLog(1, msg("ALIVE", "server", 2)), "pid")
	for n := 1; n <= 2; n++ {
		s.signal(unix.SIGUSR2)
		s.waitLog(n, msg("revive", "buried", 2))
		for _, i := range []int{1, 3} {
			l := s.waitLog(n, msg("ALIVE", "server", i, "from", "BURIED"))
			if attr(l, "restarts") != n {
				t.Errorf("server %d revived with restarts %v, want %d", i, l["restarts"], n)
			}
			s.waitLog(n+1, msg("BURIED", "server", i))
		}
	}
	if n := s.count(msg("ALIVE", "server", 2)); n != 1 || s.pidOf(2) != alivePid {
		t.Errorf("the live server was started %d times", n)
	}
	if code := s.stop(); code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
}

// --linger keeps the supervisor running when every server is cremated; it
// still answers signals, and ends on SIGTERM with status 0.
func TestLinger(t *testing.T) {
	s := begin(t, "--linger", "{", selfBin, "helper", "exit", "0", "}")
	s.waitLog(1, msg("CREMATED", "server", 1))
	s.signal(unix.SIGUSR1)
	d := s.waitLog(1, msg("info dump"))
	if c := d["counts"].(map[string]any); c["cremated"] != float64(1) {
		t.Errorf("counts %v", c)
	}
	if s.exited() {
		t.Fatal("respawn exited with --linger")
	}
	if code := s.stop(); code != 0 {
		t.Errorf("exit status %d, want 0", code)
	}
}
