//go:build linux

package test

import (
	"testing"

	"golang.org/x/sys/unix"
)

// A server killed after the interval comes back at once with a new pid;
// one that dies sooner is buried (at once, with --retries=0); exit 0
// cremates; SIGUSR2 revives.
func TestRespawnBuryCremateRevive(t *testing.T) {
	s := begin(t, "--retries=0", "--interval=1s", // a race-built helper that exits at once is buried even on a loaded machine
		"{", selfBin, "helper", "sleep", "}",
		"{", selfBin, "helper", "exit", "3", "}",
		"{", selfBin, "helper", "exit", "0", "}")
	first := s.waitLog(1, msg("ALIVE", "server", 1))
	s.waitLog(1, msg("BURIED", "server", 2, "exit", "exit 3"))
	s.waitLog(1, msg("CREMATED", "server", 3, "exit", "exit 0"))

	eventually(t, "server 1 older than the interval", func() bool { return s.count(msg("ALIVE", "server", 1)) == 1 })
	s.signal(unix.SIGUSR2)
	s.waitLog(1, msg("ALIVE", "server", 2, "from", "BURIED"))
	s.waitLog(2, msg("BURIED", "server", 2))

	pid := int(first["pid"].(float64))
	waitLived(t, s, 1, 1e9)
	if err := unix.Kill(pid, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	s.waitLog(1, msg("DEAD", "server", 1, "exit", "signal SIGKILL"))
	again := s.waitLog(1, msg("ALIVE", "server", 1, "from", "DEAD"))
	if int(again["pid"].(float64)) == pid {
		t.Fatalf("respawned with the same pid %d", pid)
	}
	if code := s.stop(); code != 1 {
		t.Errorf("exit status %d with a buried server, want 1", code)
	}
}
