//go:build linux

package test

import (
	"encoding/json"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"

	"respawn/control"
)

// seqOf reads the events stream lines of a JSON client until one numbers
// transition want or later, and returns the numbers seen and the lost
// lines' counts.
func (e *eventsClient) until(want uint64) (seqs []uint64, lost []control.StreamLine) {
	e.t.Helper()
	for len(seqs) == 0 || seqs[len(seqs)-1] < want {
		l := e.next()
		var sl control.StreamLine
		if err := json.Unmarshal([]byte(l), &sl); err != nil {
			e.t.Fatalf("events line %q: %v", l, err)
		}
		switch {
		case sl.Lost > 0 || sl.Reset || sl.Dropped > 0:
			lost = append(lost, sl)
		case sl.Seq == 0:
			e.t.Fatalf("events line without a number: %q", l)
		default:
			seqs = append(seqs, sl.Seq)
		}
	}
	return seqs, lost
}

func eventSeq(t *testing.T, sock string) uint64 {
	t.Helper()
	ans, code := ctlJSON(t, sock, "dump")
	if code != 0 || ans.Dump == nil {
		t.Fatalf("dump: exit %d, %+v", code, ans)
	}
	return ans.Dump.EventSeq
}

// respawnctl events goes on across three live upgrades while servers keep
// dying and starting: every transition is printed once, numbered one by
// one, none lost and none twice, those made before the client reconnected
// included (it is stopped across each upgrade until some are made). Reproduces the defect where the stream ended at the upgrade.
func TestControlEventsAcrossUpgrades(t *testing.T) {
	args := []string{"--interval=1ms", "--log-level=debug"}
	for i := range 6 {
		args = append(args, "{", "@c"+strconv.Itoa(i), "sh", "-c", "sleep 0.0"+strconv.Itoa(i+2)+"; exit 1", "}")
	}
	s, sock := startCtl(t, args...)
	e := startEvents(t, s, sock, true)
	var seqs []uint64
	for gen := 1; gen <= 3; gen++ {
		before := eventSeq(t, sock)
		got, lost := e.until(before + 1)
		seqs = append(seqs, got...)
		if len(lost) > 0 {
			t.Fatalf("before upgrade %d: %+v", gen, lost)
		}
		// Held back from reading until transitions were made after
		// the exec: they can only come from the new image's replay.
		if err := e.cmd.Process.Signal(unix.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		s.signal(unix.SIGHUP)
		s.waitLog(gen, msg("respawn upgraded"))
		after := eventSeq(t, sock)
		eventually(t, "transitions after the upgrade", func() bool { return eventSeq(t, sock) >= after+3 })
		if err := e.cmd.Process.Signal(unix.SIGCONT); err != nil {
			t.Fatal(err)
		}
	}
	last := eventSeq(t, sock)
	got, lost := e.until(last)
	seqs = append(seqs, got...)
	if len(lost) > 0 {
		t.Errorf("lost or dropped: %+v", lost)
	}
	for i := 1; i < len(seqs); i++ {
		if seqs[i] != seqs[i-1]+1 {
			t.Fatalf("transition %d follows %d (%d transitions seen)", seqs[i], seqs[i-1], len(seqs))
		}
	}
	if n := s.count(msg("control: events client subscribed", "resumed", true)); n != 3 {
		t.Errorf("the client resumed %d times, want 3", n)
	}
	t.Logf("%d transitions, numbers %d to %d, across 3 upgrades", len(seqs), seqs[0], seqs[len(seqs)-1])
	e.leave()
	s.stop()
}

// A client that comes back after more transitions than respawn keeps is
// told how many it lost, then gets the ones kept, in order; respawnctl
// shows it. Here the client is stopped (SIGSTOP) across an upgrade and a
// revival of 200 servers (400 transitions).
func TestControlEventsResumeTooLate(t *testing.T) {
	const n = 200
	args := []string{"--interval=1h", "--retries=0", "--linger", "--log-level=debug"}
	for range n {
		args = append(args, "{", "false", "}")
	}
	s, sock := startCtl(t, args...)
	eventually(t, "every false buried", func() bool { return s.count(msg("BURIED")) == n })
	e := startEvents(t, s, sock, true)
	text := startEvents(t, s, sock, false)
	seen := eventSeq(t, sock)

	for _, c := range []*eventsClient{e, text} {
		if err := c.cmd.Process.Signal(unix.SIGSTOP); err != nil {
			t.Fatal(err)
		}
	}
	s.signal(unix.SIGHUP)
	s.waitLog(1, msg("respawn upgraded"))
	if out := ctlOK(t, sock, "revive"); out != "revived "+strconv.Itoa(n)+"\n" {
		t.Fatalf("revive said %q", out)
	}
	eventually(t, "every false buried again", func() bool { return s.count(msg("BURIED")) == 2*n })
	now := eventSeq(t, sock)
	for _, c := range []*eventsClient{e, text} {
		if err := c.cmd.Process.Signal(unix.SIGCONT); err != nil {
			t.Fatal(err)
		}
	}
	got, lost := e.until(now)
	if len(lost) != 1 || lost[0].Lost == 0 || lost[0].Reset {
		t.Fatalf("lost lines %+v, want one with a count", lost)
	}
	if uint64(len(got))+lost[0].Lost != now-seen || got[0] != seen+lost[0].Lost+1 || got[len(got)-1] != now {
		t.Errorf("after %d: %d lost, then %d transitions %d to %d; want up to %d", seen, lost[0].Lost, len(got), got[0], got[len(got)-1], now)
	}
	e.leave()
	want := "lost " + strconv.FormatUint(lost[0].Lost, 10) + " events while reconnecting: more happened than respawn keeps (256)"
	if l := text.next(); l != want {
		t.Errorf("respawnctl events said %q, want %q", l, want)
	}
	text.leave()

	// The same by hand, and in respawnctl's words.
	raw := dialRaw(t, sock)
	if ans := raw.ask(`{"cmd":"events","after":` + strconv.FormatUint(seen, 10) + `}`); !ans.OK || ans.Seq == nil || *ans.Seq != seen {
		t.Fatalf("events after %d: %+v", seen, ans)
	}
	b, _ := raw.line()
	var l control.Lost
	if json.Unmarshal(b, &l) != nil || l.Lost != lost[0].Lost {
		t.Errorf("first line %q, want lost %d", b, lost[0].Lost)
	}
	if ans := dialRaw(t, sock).ask(`{"cmd":"events","after":` + strconv.FormatUint(now+5, 10) + `}`); !ans.OK || *ans.Seq != now {
		t.Errorf("events after a number not reached yet: %+v", ans)
	}
	s.stop()
}
