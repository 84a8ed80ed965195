//go:build linux

package test

import (
	"fmt"
	"testing"
)

// A pre-flight check that answers and exits, but leaves a process behind
// that holds its output open (a wrapper script that starts something in
// the background), is taken at its answer: the upgrade goes through, and
// what it left in its process group is killed. Reproduces the defect
// where the answer was read until EOF, so the upgrade was refused after
// 5 s as "no answer" and the leftover process ran on as respawn's child.
func TestUpgradeCheckLeavesGrandchild(t *testing.T) {
	bin := copyBinary(t)
	s := startBin(t, bin, "", "{", selfBin, "helper", "sleep", "}")
	s.waitLog(1, msg("ALIVE", "server", 1))
	pid := s.pidOf(1)
	left := tempFile(t, "left")
	writeScript(t, bin, fmt.Sprintf(`case "$1" in
--upgrade-check=*) sleep 1000 & echo $! > %s.new; mv %s.new %s;;
esac
exec %s "$@"
`, left, left, left, respawnBin))
	s.upgrade(1)
	if s.count(msg("respawn: upgrade refused, carrying on")) != 0 {
		t.Error("the upgrade was refused")
	}
	if ppid, _ := procStat(pid); ppid != s.Pid {
		t.Errorf("server pid %d has parent %d after the upgrade, want respawn %d", pid, ppid, s.Pid)
	}
	grandchild := waitPidFile(t, left)
	eventually(t, "the check's leftover killed and reaped", func() bool { return gone(grandchild) })
	s.stop()
}
