//go:build linux

package respawn

import (
	"os"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// TestDrainSignals checks what an upgrade carries to the new image: every
// queued signal but the upgrade request, once each, in first-come order.
func TestDrainSignals(t *testing.T) {
	s := New(quietConfig(), nil)
	for _, sig := range []os.Signal{unix.SIGUSR1, unix.SIGHUP, unix.SIGUSR1, unix.SIGTERM, unix.SIGUSR2, unix.SIGUSR1, unix.SIGHUP} {
		s.sigs <- sig
	}
	got := s.drainSignals()
	want := []os.Signal{unix.SIGUSR1, unix.SIGTERM, unix.SIGUSR2}
	if !slices.Equal(got, want) {
		t.Fatalf("carried %v, want %v", got, want)
	}
	if len(s.sigs) != 0 {
		t.Fatalf("%d signals left in the queue", len(s.sigs))
	}
	if list := signalList(got); list != "10,15,12" {
		t.Fatalf("--pending-signals=%s, want 10,15,12", list)
	}
}
