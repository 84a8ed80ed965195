//go:build linux

package test

import (
	"os"
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

// An --alarm abort logs how many servers it spawned, counting the one
// whose fork was under way when SIGALRM came: with --alarm=1ns it logged
// spawned=0 though a server had been forked (and killed). The servers it
// forked are the children respawn leaves to the test process, a
// subreaper; they are reaped and counted by pid.
func TestAlarmCountsSpawned(t *testing.T) {
	args := []string{"--control=none", "--alarm=1ns"}
	for i := 0; i < 20; i++ {
		args = append(args, "{", "sleep", "300", "}")
	}
	s := start(t, args...)
	if code := s.wait(); code != 3 {
		t.Fatalf("exit status %d, want 3 (start-up aborted)", code)
	}
	forked := 0
	for _, pid := range children(os.Getpid()) {
		var ws unix.WaitStatus
		if _, err := unix.Wait4(pid, &ws, 0, nil); err != nil {
			t.Fatalf("wait4 %d: %v", pid, err)
		}
		if !ws.Signaled() || ws.Signal() != unix.SIGKILL {
			t.Errorf("child %d ended with %v, want SIGKILL", pid, ws)
		}
		forked++
	}
	l := s.waitLog(1, msg("respawn: start-up did not finish within --alarm, aborting"))
	if l["spawned"] != float64(forked) {
		t.Errorf("abort logged spawned=%v, but %d servers were forked", l["spawned"], forked)
	}
}
