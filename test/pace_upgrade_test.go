//go:build linux

package test

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A crash-looper paced to a 1 s delay keeps its place across a live
// upgrade: the new image respawns it when its delay is up, not at once.
// Reproduces the defect where every paced server restarted the moment an
// upgrade finished and its pacing began again from 10 ms, so upgrades
// every second kept every crash-looper at full speed.
func TestPacingSurvivesUpgrade(t *testing.T) {
	s := start(t, "--control=none", "--interval=20ms", "{", "sh", "-c", "sleep 0.05; exit 1", "}",
		"{", selfBin, "helper", "sleep", "}")
	// Delays double from 10 ms: the 8th short life in a row waits 1 s.
	dead := s.waitLog(8, msg("DEAD", "server", 1))
	s.signal(unix.SIGHUP)
	s.waitLog(1, msg("respawn upgraded"))
	next := s.waitLog(9, msg("ALIVE", "server", 1))
	died, back := logTime(t, dead), logTime(t, next)
	if gap := back.Sub(died); gap < 900*time.Millisecond {
		t.Errorf("respawned %v after its 8th short life, across the upgrade; its paced delay was 1 s", gap)
	}
	s.stop()
}

func logTime(t *testing.T, l map[string]any) time.Time {
	t.Helper()
	v, _ := l["time"].(string)
	tm, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		t.Fatalf("log line without a time: %v", l)
	}
	return tm
}
