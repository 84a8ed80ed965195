package earlysig

import (
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"
)

func TestPreflight(t *testing.T) {
	tests := []struct {
		args []string
		want bool
	}{
		{[]string{"/usr/bin/respawn", "--upgrade-check=1"}, true},
		{[]string{"/usr/bin/respawn", "--upgrade-check=1", "--state-fd=3", "--interval=1", "{", "sleep", "1", "}"}, true},
		{[]string{"/usr/bin/respawn", "--upgrade-check=1", "{", "sleep", "1", "}"}, false},
		{[]string{"/usr/bin/respawn", "{", "sleep", "--upgrade-check=1", "}"}, false},
		{[]string{"/usr/bin/respawn", "--re-exec", "--upgrade-check=1"}, false},
		{[]string{"/usr/bin/respawn"}, false},
	}
	for _, tt := range tests {
		if got := preflight(tt.args); got != tt.want {
			t.Errorf("preflight(%q) = %v, want %v", tt.args, got, tt.want)
		}
	}
}

// TestRouted checks that init alone routes the signals the runtime would
// die of (one that is not routed ends this test binary), and that the
// others reach C once the supervisor's own Notify of them to C returns.
func TestRouted(t *testing.T) {
	send := func(sig syscall.Signal) {
		t.Helper()
		if err := syscall.Kill(os.Getpid(), sig); err != nil {
			t.Fatal(err)
		}
		select {
		case got := <-C:
			if got != sig {
				t.Fatalf("C got %v, want %v", got, sig)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%v never reached C", sig)
		}
	}
	for _, sig := range fatal {
		send(sig.(syscall.Signal))
	}
	signal.Notify(C, Signals...) // what respawn's setup does
	for _, sig := range harmless {
		if sig != syscall.SIGCHLD {
			send(sig.(syscall.Signal))
		}
	}
}
