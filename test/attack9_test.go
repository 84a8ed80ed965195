//go:build linux

package test

import (
	"reflect"
	"testing"

	"golang.org/x/sys/unix"
)

// respawnctl reload goes where the server's stop signal goes: its whole
// process group by default, its main process alone with --kill-mode=pid
// or mixed, whose main process passes a reload on its own way (gunicorn's
// workers die of a SIGHUP sent to them). The background child is then
// sent SIGUSR1 through the group: the first signal it hears must be that
// one, or it heard the reload (a pending SIGHUP is delivered before a
// SIGUSR1). The reload used to go to the whole group whatever the mode.
func TestReloadFollowsKillMode(t *testing.T) {
	tests := []struct {
		name  string
		mode  string
		heard []string // what the background child heard
	}{
		{name: "group", mode: "group", heard: []string{"SIGHUP"}},
		{name: "pid", mode: "pid", heard: []string{"SIGUSR1"}},
		{name: "mixed", mode: "mixed", heard: []string{"SIGUSR1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mainFile, bgFile := tempFile(t, "main"), tempFile(t, "bg")
			s, sock := startCtl(t, "--interval=1h",
				"{", "@srv", "--kill-mode="+tt.mode, "sh", "-c",
				selfBin+" helper stopsig "+bgFile+" & exec "+selfBin+" helper signals "+mainFile, "}")
			waitLines(t, mainFile, 1)
			waitLines(t, bgFile, 1)
			ctlOK(t, sock, "reload", "srv")
			if got := waitLines(t, mainFile, 2); got[1] != "SIGHUP" {
				t.Errorf("the main process heard %q, want SIGHUP", got[1:])
			}
			if tt.mode != "group" {
				ctlOK(t, sock, "signal", "srv", "USR1")
			}
			waitLines(t, bgFile, 2)
			if got := heard(bgFile); !reflect.DeepEqual(got, tt.heard) {
				t.Errorf("the background child heard %q, want %q", got, tt.heard)
			}
			if s.count(msg("ALIVE", "name", "srv")) != 1 {
				t.Error("the reload restarted the server")
			}
			s.stop()
		})
	}
}

// A restart of a server waiting in DEAD for a retry starts it afresh, its
// retries whole again, as a restart of a running one does: the operator
// who fixed a crash-looper's cause and restarts it does not see it
// buried at its next quick death. The restart used to start it as the
// retry it was waiting for, the count kept: a server with every retry
// used was buried by the first fast death after the restart.
func TestRestartWaitingForRetryStartsAfresh(t *testing.T) {
	s, sock := startCtl(t, "--interval=1h",
		"{", "@c", "--retries=4", selfBin, "helper", "exit", "1", "}")
	s.waitLog(1, msg("DEAD", "name", "c", "retry", "4/4"))
	ctlOK(t, sock, "restart", "c")
	s.waitLog(1, msg("BURIED", "name", "c"))
	if n := s.count(msg("DEAD", "name", "c", "retry", "1/4")); n != 2 {
		t.Errorf("%d first retries in all, want 2: the restart kept the retries used", n)
	}
	s.stop()
}

// A client that leaves while its restart waits for a slow stop gives its
// place back at once: the control socket serves 64 clients at a time,
// and a restart or stop --wait used to hold its place for up to 10
// minutes after its client had gone (respawnctl gives up after its
// --timeout), so 64 restarts given up on (a script under timeout(1))
// left every later request, shutdown included, answered "busy". A
// client that only shuts its writing side down still gets its answer.
func TestControlGoneWaiterFreesItsPlace(t *testing.T) {
	pidFile := tempFile(t, "pid")
	s, sock := startCtl(t, "--interval=1h",
		"{", "@slow", "--stop-timeout=1h", selfBin, "helper", "ignoreterm", pidFile, "}",
		"{", "@quick", selfBin, "helper", "sleep", "1h", "}")
	waitLines(t, pidFile, 1)
	for range 70 {
		c := dialRaw(t, sock)
		c.send(`{"cmd":"restart","target":"slow"}` + "\n")
		c.c.Close()
	}
	if l := list(t, sock); l["slow"].State != "ALIVE" {
		t.Errorf("slow is %s, want ALIVE (being stopped)", l["slow"].State)
	}
	// A client that only shuts its writing side down is still there.
	c := dialRaw(t, sock)
	c.send(`{"cmd":"restart","target":"quick"}` + "\n")
	if err := c.c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if ans := c.answer(); !ans.OK || ans.Status == nil || ans.Status.State != "ALIVE" {
		t.Errorf("half-closed client's restart answered %+v", ans)
	}
	s.signal(unix.SIGTERM)
	s.waitLog(1, msg("shutting down"))
	s.signal(unix.SIGTERM) // the server ignores the first, for an hour
	s.wait()
}

// respawnctl restart that outlives its --timeout says so in words, and
// that the restart goes on; it used to print the socket's "read unix
// @->/proc/self/fd/5/...: i/o timeout".
func TestCtlRestartTimeoutSaysItGoesOn(t *testing.T) {
	pidFile := tempFile(t, "pid")
	s, sock := startCtl(t, "--interval=1h",
		"{", "@slow", "--stop-timeout=1h", selfBin, "helper", "ignoreterm", pidFile, "}")
	waitLines(t, pidFile, 1)
	_, stderr, code := ctl(t, sock, "--timeout=500ms", "restart", "slow")
	want := "respawnctl: restart slow: no answer within 500ms (--timeout); it goes on in the supervisor: see respawnctl status slow\n"
	if code != 1 || stderr != want {
		t.Errorf("exit %d, stderr %q, want 1 and %q", code, stderr, want)
	}
	s.signal(unix.SIGTERM)
	s.waitLog(1, msg("shutting down"))
	s.signal(unix.SIGTERM) // the server ignores the first, for an hour
	s.wait()
}
