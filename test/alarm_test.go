//go:build linux

package test

import "testing"

// --alarm aborts a start-up that takes too long: a thousand servers cannot
// all be spawned within 10ms. respawn exits 3 and takes down the servers
// it had started (the harness checks that none is left).
func TestAlarmAbortsSlowStartup(t *testing.T) {
	args := []string{"--control=none", "--alarm=10ms"}
	for i := 0; i < 1000; i++ {
		args = append(args, "{", "sleep", "300", "}")
	}
	s := start(t, args...)
	if code := s.wait(); code != 3 {
		t.Fatalf("exit status %d, want 3 (start-up aborted)", code)
	}
	l := s.waitLog(1, msg("respawn: start-up did not finish within --alarm, aborting"))
	if n, _ := l["spawned"].(float64); n < 1 || n >= 1000 {
		t.Errorf("aborted after %v spawns, want some but not all 1000", l["spawned"])
	}
}
