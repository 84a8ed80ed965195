//go:build linux

package watch

import (
	"encoding/binary"
	"os"
	"testing"
	"time"
)

// rawEvent is a datagram of the kernel as the socket received it, before
// Parse: its event type and task.
type rawEvent struct {
	what      uint32
	pid, tgid int
}

// rawUntilExit reads c's datagrams (20 s at most) until the exit of pid,
// and returns them all.
func rawUntilExit(t *testing.T, c *Conn, pid int) []rawEvent {
	t.Helper()
	if err := c.s.SetReadDeadline(time.Now().Add(20 * time.Second)); err != nil {
		t.Fatal(err)
	}
	defer c.s.SetReadDeadline(time.Time{})
	var evs []rawEvent
	for {
		n, err := c.recv()
		if err != nil {
			t.Fatalf("receive, waiting for the exit of %d among %d events: %v", pid, len(evs), err)
		}
		if n < offTgid+4 {
			continue
		}
		b := c.buf[:n]
		e := rawEvent{binary.NativeEndian.Uint32(b[offWhat:]), int(binary.NativeEndian.Uint32(b[offPid:])), int(binary.NativeEndian.Uint32(b[offTgid:]))}
		evs = append(evs, e)
		if e.what == procEventExit && e.pid == pid {
			return evs
		}
	}
}

// TestIntegrationExits checks the wake-up socket of process accounting
// (Options.Exits): the exit of any process comes through, whatever
// SetWatched says; a thread's exit (not its leader's), forks and execs
// never reach the socket.
func TestIntegrationExits(t *testing.T) {
	c := openConn(t, Options{Exits: true})
	if !c.Masked() {
		t.Error("the 8-byte listen of EXIT alone was not acknowledged on a 6.6+ kernel")
	}
	if err := c.SetWatched([]int{os.Getpid()}); err != nil {
		t.Fatalf("SetWatched: %v", err)
	}
	if err := c.SetWatchedPids([]int{os.Getpid()}); err != nil {
		t.Fatalf("SetWatchedPids: %v", err)
	}
	tid := exitThread(t)
	forker := child(t, "sh", "-c", "(:); exec sleep 0")
	forker.Wait()
	evs := rawUntilExit(t, c, forker.Process.Pid)
	last := child(t, "true") // after the thread's exit by far: it came first, if at all
	last.Wait()
	evs = append(evs, rawUntilExit(t, c, last.Process.Pid)...)
	for _, e := range evs {
		switch {
		case e.what == procEventNone:
		case e.what != procEventExit:
			t.Errorf("event %#x of pid %d came through, want exits only", e.what, e.pid)
		case e.pid != e.tgid:
			t.Errorf("exit of thread %d of %d came through, want leaders only", e.pid, e.tgid)
		}
		if e.pid == tid {
			t.Errorf("an event of the ended thread %d came through", tid)
		}
	}
}
