//go:build linux

package respawn

import (
	"os"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// TestDrainSignals checks what an upgrade carries to the new image: every
// signal waiting but the upgrade request, revivals before dumps, and two
// stop signals as two (the second kills at once).
func TestDrainSignals(t *testing.T) {
	s := New(quietConfig(), nil)
	for _, sig := range []os.Signal{unix.SIGUSR1, unix.SIGHUP, unix.SIGUSR2, unix.SIGTERM, unix.SIGINT} {
		s.sig.Route(sig) <- sig
	}
	got := s.drainSignals()
	want := []os.Signal{unix.SIGUSR2, unix.SIGUSR1, unix.SIGTERM, unix.SIGINT}
	if !slices.Equal(got, want) {
		t.Fatalf("carried %v, want %v", got, want)
	}
	for _, rt := range s.sig.routes() {
		if len(rt.c) != 0 {
			t.Fatalf("%v left on its channel", rt.sigs)
		}
	}
	if list := signalList(got); list != "12,10,15,2" {
		t.Fatalf("--pending-signals=%s, want 12,10,15,2", list)
	}
}
