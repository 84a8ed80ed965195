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

// TestRouted checks that every signal in Signals reaches C once the
// supervisor's own Notify of them to C has returned, whether or not the
// background routing has run by then.
func TestRouted(t *testing.T) {
	signal.Notify(C, Signals...) // what respawn's setup does
	mine := make(chan os.Signal, 1)
	signal.Notify(mine, Signals...)
	defer signal.Stop(mine)
	for _, sig := range []syscall.Signal{syscall.SIGUSR1, syscall.SIGWINCH, syscall.SIGHUP} {
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
		<-mine
	}
}
