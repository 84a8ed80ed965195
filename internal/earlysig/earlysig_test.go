package earlysig

import (
	"os"
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
// die of, each to its channel (one that is not routed ends this test
// binary), and that the others reach theirs once the supervisor's own
// Notify of them returns.
func TestRouted(t *testing.T) {
	send := func(sig syscall.Signal, c chan os.Signal) {
		t.Helper()
		if err := syscall.Kill(os.Getpid(), sig); err != nil {
			t.Fatal(err)
		}
		select {
		case got := <-c:
			if got != sig {
				t.Fatalf("got %v, want %v", got, sig)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%v never reached its channel", sig)
		}
	}
	send(syscall.SIGHUP, Upgrade)
	send(syscall.SIGINT, Stop)
	send(syscall.SIGTERM, Stop)
	send(syscall.SIGQUIT, Stop)
	send(syscall.SIGPIPE, Pipe)
	routeHarmless() // what respawn's setup does
	send(syscall.SIGUSR1, Dump)
	send(syscall.SIGUSR2, Revive)
	send(syscall.SIGWINCH, Winch)
}

// Two stop signals not yet taken are both kept: the second one kills at
// once, so it must not be folded into the first.
func TestTwoStops(t *testing.T) {
	for i := 1; i <= 2; i++ {
		syscall.Kill(os.Getpid(), syscall.SIGTERM)
		deadline := time.Now().Add(10 * time.Second)
		for len(Stop) < i {
			if time.Now().After(deadline) {
				t.Fatalf("stop signal %d not kept", i)
			}
			time.Sleep(time.Millisecond)
		}
	}
	<-Stop
	<-Stop
}
