//go:build linux

package respawn

import (
	"os"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// TestDrainSignals checks what an upgrade carries to the new image: every
// queued signal but the upgrade request, in order, repeats in a row once
// (a dump after a revival still shows the revival).
func TestDrainSignals(t *testing.T) {
	s := New(quietConfig(), nil)
	for _, sig := range []os.Signal{unix.SIGUSR1, unix.SIGHUP, unix.SIGUSR1, unix.SIGUSR1, unix.SIGUSR2, unix.SIGUSR1, unix.SIGHUP, unix.SIGTERM} {
		s.sigs <- sig
	}
	got := s.drainSignals()
	want := []os.Signal{unix.SIGUSR1, unix.SIGUSR2, unix.SIGUSR1, unix.SIGTERM}
	if !slices.Equal(got, want) {
		t.Fatalf("carried %v, want %v", got, want)
	}
	if len(s.sigs) != 0 {
		t.Fatalf("%d signals left in the queue", len(s.sigs))
	}
	if list := signalList(got); list != "10,12,10,15" {
		t.Fatalf("--pending-signals=%s, want 10,12,10,15", list)
	}
}
