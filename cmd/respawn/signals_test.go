//go:build linux

package main

import (
	"os"
	"os/signal"
	"slices"
	"syscall"
	"testing"
	"time"

	"respawn/internal/earlysig"
	"respawn/respawn"
)

// earlysig routes exactly the signals the supervisor handles, each to the
// channel the supervisor takes it from (this test binary links earlysig,
// so its init has routed them: a signal it did not route would end the
// test, or never arrive).
func TestEarlySignalsAreHandled(t *testing.T) {
	handled := respawn.Handled()
	for _, sig := range earlysig.Signals {
		if !slices.Contains(handled, sig) {
			t.Errorf("earlysig routes %v, which respawn does not handle", sig)
		}
	}
	c := earlySignals()
	// Routed in the background: make sure, as respawn's setup does.
	signal.Notify(earlysig.Dump, syscall.SIGUSR1)
	signal.Notify(earlysig.Revive, syscall.SIGUSR2)
	signal.Notify(earlysig.Winch, syscall.SIGWINCH)
	for _, sig := range handled {
		if !slices.Contains(earlysig.Signals, sig) {
			t.Errorf("respawn handles %v, which earlysig does not route", sig)
			continue
		}
		if sig == syscall.SIGCHLD {
			continue // the test's own children would send more
		}
		syscall.Kill(os.Getpid(), sig.(syscall.Signal))
		select {
		case got := <-c.Route(sig):
			if got != sig {
				t.Errorf("%v: got %v", sig, got)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("%v never reached the channel respawn takes it from", sig)
		}
	}
}
