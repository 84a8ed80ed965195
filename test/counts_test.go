//go:build linux

package test

import (
	"testing"

	"golang.org/x/sys/unix"
)

// The counts logged after an upgrade are of servers only: with the control
// task alive beside two servers, "respawn upgraded" said servers=2
// alive=3 (the task counted as an alive server).
func TestUpgradeCountsServersOnly(t *testing.T) {
	s, _ := startCtl(t, "--interval=1h",
		"{", selfBin, "helper", "sleep", "}",
		"{", selfBin, "helper", "exit", "0", "}")
	s.waitLog(1, msg("CREMATED", "server", 2))
	s.signal(unix.SIGHUP)
	l := s.waitLog(1, msg("respawn upgraded", "generation", 1))
	if l["servers"] != float64(2) || l["alive"] != float64(1) || l["tasks"] != float64(1) {
		t.Errorf("upgraded: servers=%v alive=%v tasks=%v, want 2, 1 and 1", l["servers"], l["alive"], l["tasks"])
	}
	if code := s.stop(); code != 0 {
		t.Errorf("exit status %d", code)
	}
}
