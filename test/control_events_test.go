//go:build linux

package test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"respawn/control"
)

// eventsClient is a running "respawnctl events".
type eventsClient struct {
	t     *testing.T
	cmd   *exec.Cmd
	lines chan string
	err   strings.Builder
}

// startEvents runs respawnctl [--json] events and waits until it is
// subscribed (respawn must run with --log-level=debug, which logs that).
// The test ends it with SIGINT (leave) and checks it exits 0.
func startEvents(t *testing.T, s *Sup, sock string, jsonOut bool) *eventsClient {
	t.Helper()
	subscribed := s.count(msg("control: events client subscribed"))
	args := []string{"--socket", sock, "events"}
	if jsonOut {
		args = append([]string{"--json"}, args...)
	}
	e := &eventsClient{t: t, cmd: exec.Command(respawnctlBin, args...), lines: make(chan string, 1024)}
	e.cmd.Stderr = &e.err
	out, err := e.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.leave)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			e.lines <- sc.Text()
		}
		close(e.lines)
	}()
	if jsonOut {
		if l := e.next(); !regexp.MustCompile(`^\{"ok":true,"seq":\d+\}$`).MatchString(l) {
			t.Fatalf("events: first line %q", l)
		}
	}
	s.waitLog(subscribed+1, msg("control: events client subscribed"))
	return e
}

// next returns the next line, waiting at most 10 s.
func (e *eventsClient) next() string {
	e.t.Helper()
	select {
	case l, ok := <-e.lines:
		if !ok {
			e.t.Fatalf("events client ended: %s", e.err.String())
		}
		return l
	case <-time.After(10 * time.Second):
		e.t.Fatal("no event within 10 s")
	}
	return ""
}

// leave interrupts the client, as an operator's ^C does: it exits 0.
func (e *eventsClient) leave() {
	if e.cmd.ProcessState != nil {
		return
	}
	_ = e.cmd.Process.Signal(unix.SIGINT)
	err := e.cmd.Wait()
	if err != nil || e.err.Len() > 0 {
		e.t.Errorf("events client on SIGINT: %v, stderr %q", err, e.err.String())
	}
}

// An events subscriber sees every transition of a scripted crash (late
// death, respawn), a burial (early death), a revival and a stop, in order,
// with the pids and exits; the text form says the same.
func TestControlEventsSequence(t *testing.T) {
	s, sock := startCtl(t, "--retries=0", "--interval=1s", "--log-level=debug",
		"{", "@a", selfBin, "helper", "sleep", "}",
		"{", "@keep", selfBin, "helper", "sleep", "}")
	js := startEvents(t, s, sock, true)
	text := startEvents(t, s, sock, false)

	p1 := s.pidOf(1)
	waitLived(t, s, 1, 1e9)
	if err := unix.Kill(p1, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p2 := int(s.waitLog(1, msg("ALIVE", "server", 1, "from", "DEAD"))["pid"].(float64))
	if err := unix.Kill(p2, unix.SIGKILL); err != nil { // well within the interval
		t.Fatal(err)
	}
	s.waitLog(1, msg("BURIED", "server", 1))
	ctlOK(t, sock, "revive", "a")
	p3 := int(s.waitLog(1, msg("ALIVE", "server", 1, "from", "BURIED"))["pid"].(float64))
	ctlOK(t, sock, "stop", "a")

	want := []control.Event{
		{Index: 1, Name: "a", From: "ALIVE", To: "DEAD", Pid: p1, Exit: "signal SIGKILL"},
		{Index: 1, Name: "a", From: "DEAD", To: "ALIVE", Pid: p2},
		{Index: 1, Name: "a", From: "ALIVE", To: "BURIED", Pid: p2, Exit: "signal SIGKILL"},
		{Index: 1, Name: "a", From: "BURIED", To: "ALIVE", Pid: p3},
		{Index: 1, Name: "a", From: "ALIVE", To: "CREMATED", Pid: p3, Exit: "signal SIGTERM"},
	}
	var last time.Time
	var seq uint64
	for i, w := range want {
		l := js.next()
		var ev control.Event
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("event %d: %q: %v", i+1, l, err)
		}
		at, err := time.Parse(time.RFC3339Nano, ev.Time)
		if err != nil || at.Before(last) {
			t.Errorf("event %d: time %q (after %v): %v", i+1, ev.Time, last, err)
		}
		last = at
		if i > 0 && ev.Seq != seq+1 {
			t.Errorf("event %d: number %d after %d", i+1, ev.Seq, seq)
		}
		seq = ev.Seq
		ev.Time, ev.Seq = "", 0
		if ev != w {
			t.Errorf("event %d: %+v, want %+v", i+1, ev, w)
		}
		re := fmt.Sprintf(`^\S+ #%d \[1\] a %s -> %s pid %d`, seq, w.From, w.To, w.Pid)
		if w.Exit != "" {
			re += ` \(` + w.Exit + `\)`
		}
		if l := text.next(); !regexp.MustCompile(re + "$").MatchString(l) {
			t.Errorf("text event %d: %q does not match %s", i+1, l, re)
		}
	}
	js.leave()
	text.leave()
	if d := list(t, sock); d["a"].State != "CREMATED" || d["keep"].State != "ALIVE" {
		t.Errorf("at the end: %+v", d)
	}
	s.stop()
}

// An events client that stops reading never slows the supervisor: what
// does not fit its buffer is dropped and counted, and once it reads again
// it sees a {"dropped":N} line; events seen plus dropped is every
// transition made meanwhile, and the dump counts the drops too.
func TestControlEventsSlowClient(t *testing.T) {
	const n = 20
	args := []string{"--retries=0", "--interval=1h", "--linger", "{", "@steady", selfBin, "helper", "sleep", "}"}
	for range n {
		args = append(args, "{", "false", "}")
	}
	s, sock := startCtl(t, args...)
	eventually(t, "every false buried", func() bool { return s.count(msg("BURIED")) == n })

	sub := dialRaw(t, sock)
	if ans := sub.ask(`{"cmd":"events"}`); !ans.OK {
		t.Fatalf("events: %+v", ans)
	}
	// Revive them all over and over without reading the stream, until the
	// supervisor reports drops.
	op := dialRaw(t, sock)
	revived := 0
	deadline := time.Now().Add(60 * time.Second)
	for {
		ans := op.ask(`{"cmd":"revive"}`)
		if !ans.OK || ans.Revived == nil {
			t.Fatalf("revive: %+v", ans)
		}
		revived += *ans.Revived
		if d := op.ask(`{"cmd":"dump"}`); d.Dump.EventsDropped > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no drop after %d revivals", revived)
		}
	}
	eventually(t, "every false buried again", func() bool {
		d := op.ask(`{"cmd":"dump"}`).Dump
		return d.Counts["buried"] == n && d.Counts["alive"] == 1
	})
	dropped := op.ask(`{"cmd":"dump"}`).Dump.EventsDropped
	want := 2 * revived // BURIED -> ALIVE -> BURIED each

	seen, reported := 0, uint64(0)
	for seen+int(reported) < want {
		b, err := sub.line()
		if err != nil {
			t.Fatalf("after %d events and %d dropped of %d: %v", seen, reported, want, err)
		}
		var l control.StreamLine
		if err := json.Unmarshal(b, &l); err != nil {
			t.Fatalf("%q: %v", b, err)
		}
		if l.Dropped > 0 {
			reported += l.Dropped
			continue
		}
		if !strings.HasPrefix(l.Name, "false") || !(l.From == "BURIED" && l.To == "ALIVE" || l.From == "ALIVE" && l.To == "BURIED") {
			t.Fatalf("unexpected event %s", b)
		}
		seen++
	}
	if seen+int(reported) != want || reported == 0 || reported != dropped {
		t.Fatalf("%d events seen, %d reported dropped, dump says %d dropped; %d transitions", seen, reported, dropped, want)
	}
	t.Logf("%d transitions: %d seen, %d dropped", want, seen, reported)
	if m := list(t, sock); m["control"].Restarts != 0 || m["steady"].State != "ALIVE" {
		t.Errorf("after the slow client: %+v", m)
	}
	s.stop()
}
