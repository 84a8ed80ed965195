//go:build linux

package test

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// An upgrade then a stop a few milliseconds later (a script that
// upgrades, then stops) stops respawn and every server, and the log says
// so: the stop signal is neither lost in the exec window nor fatal to
// the new image. (Before, the new image died in the Go runtime's start
// and orphaned the servers, or the SIGTERM was silently ignored.)
func TestUpgradeThenStop(t *testing.T) {
	for _, gap := range []time.Duration{0, time.Millisecond, 3 * time.Millisecond, 5 * time.Millisecond} {
		t.Run(gap.String(), func(t *testing.T) {
			s := begin(t, "{", selfBin, "helper", "sleep", "}", "{", selfBin, "helper", "sleep", "}")
			s.waitLog(1, msg("ALIVE", "server", 2))
			s.signal(unix.SIGHUP)
			time.Sleep(gap) // the script's pace, not a wait for anything
			s.signal(unix.SIGTERM)
			if code := s.wait(); code != 0 {
				t.Errorf("exit status %d, want 0", code)
			}
			if s.count(msg("shutting down", "signal", "terminated")) != 1 {
				t.Error("the log does not show the stop")
			}
		})
	}
}
