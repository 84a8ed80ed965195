//go:build linux

package logbuf

import (
	"bufio"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A reader that does not read never blocks Write: writes beyond the
// buffer are dropped whole, and once the reader reads again one line
// reports how many.
func TestStalledReader(t *testing.T) {
	r, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer pw.Close()
	// Full before the Writer is made: its every write blocks.
	if _, err := unix.FcntlInt(pw.Fd(), unix.F_SETPIPE_SZ, 4096); err != nil {
		t.Fatal(err)
	}
	if _, err := pw.Write(make([]byte, 4096)); err != nil {
		t.Fatal(err)
	}
	w := New(pw, 4096, nil)
	line := strings.Repeat("x", 99) + "\n"
	done := make(chan struct{})
	go func() {
		for i := 0; i < 10000; i++ { // 1 MB: far more than pipe and buffer hold
			w.Write([]byte(line))
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Write blocked on a pipe nobody reads")
	}
	if w.Flush(10 * time.Millisecond) {
		t.Error("Flush reported success with the reader stalled")
	}
	if _, err := io.ReadFull(r, make([]byte, 4096)); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		l := sc.Text()
		if strings.HasSuffix(l, " log lines dropped") {
			return
		}
		if l != line[:99] {
			t.Fatalf("torn line %q", l)
		}
	}
	t.Fatal("no drop report")
}

func TestFlush(t *testing.T) {
	var b strings.Builder
	pr, pw, _ := os.Pipe()
	defer pr.Close()
	w := New(pw, 1<<20, nil)
	w.Write([]byte("a\n"))
	w.Write([]byte("b\n"))
	if !w.Flush(5 * time.Second) {
		t.Fatal("Flush timed out")
	}
	pw.Close()
	all, _ := io.ReadAll(pr)
	b.Write(all)
	if b.String() != "a\nb\n" {
		t.Fatalf("got %q", b.String())
	}
}

// Handover, with the reader stalled, returns every byte not yet written
// (a chunk blocked in write included) and stops the drainer; Resume lets
// it go on. Carry puts handed-over bytes before anything written after.
func TestHandoverCarry(t *testing.T) {
	r, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer pw.Close()
	if _, err := unix.FcntlInt(pw.Fd(), unix.F_SETPIPE_SZ, 4096); err != nil {
		t.Fatal(err)
	}
	w := New(pw, 1<<20, nil)
	var all strings.Builder
	for i := 0; i < 200; i++ { // 20 kB: the pipe takes 4 kB
		line := strings.Repeat(string(rune('a'+i%26)), 99) + "\n"
		all.WriteString(line)
		w.Write([]byte(line))
	}
	w.Flush(50 * time.Millisecond) // the drainer is now blocked on the pipe
	pending, dropped := w.Handover()
	if dropped != 0 {
		t.Errorf("%d dropped, want 0", dropped)
	}
	head := make([]byte, 4096)
	if _, err := io.ReadFull(r, head); err != nil {
		t.Fatal(err)
	}
	// What was written and what was handed over make up everything; a
	// chunk may be in both (its write completed after the hand-over).
	written := string(head)
	if !strings.HasPrefix(all.String(), written) {
		t.Fatal("the pipe holds bytes out of order")
	}
	rest := all.String()[len(written):]
	if !strings.HasSuffix(string(pending), rest) || len(pending) > len(rest)+Chunk {
		t.Fatalf("handed over %d bytes, want the %d not written (plus at most one chunk)", len(pending), len(rest))
	}
	nr, nw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer nr.Close()
	next := New(nw, 1<<20, nil)
	next.Carry(pending, 3)
	next.Write([]byte("after\n"))
	// The drop report is taken once the buffer is empty, after what
	// Flush waits for: wait for it to be taken, then flush it too.
	for deadline := time.Now().Add(5 * time.Second); next.Dropped() != 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	next.Flush(5 * time.Second)
	nw.Close()
	out, _ := io.ReadAll(nr)
	// The drop report comes once the buffer is empty: before or after
	// the next image's own line, whichever the drainer meets first.
	rest2, ok := strings.CutPrefix(string(out), string(pending))
	if !ok || (rest2 != "after\nrespawn: 3 log lines dropped\n" && rest2 != "respawn: 3 log lines dropped\nafter\n") {
		t.Errorf("the next image wrote %d bytes ending %q, want the %d handed over first, then its own line and the drop report",
			len(out), out[max(0, len(out)-60):], len(pending))
	}
	w.Resume()
	go io.Copy(io.Discard, r)
	if !w.Flush(5 * time.Second) {
		t.Error("Resume did not let the drainer write again")
	}
}

// A write larger than the whole buffer (the info dump of thousands of
// servers) is written when the buffer is empty, not dropped for ever.
func TestOversizeWrite(t *testing.T) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	w := New(pw, 16, nil)
	big := strings.Repeat("y", 100) + "\n"
	w.Write([]byte(big))
	if !w.Flush(5 * time.Second) {
		t.Fatal("Flush timed out")
	}
	pw.Close()
	all, _ := io.ReadAll(pr)
	if string(all) != big {
		t.Fatalf("got %q, want the whole write", all)
	}
}

// Offer reports each write it drops, and only those, so that a caller can
// count its own: with a reader stalled, takes and drops add up to the
// writes, and the Writer's own count agrees.
func TestOfferReportsDrops(t *testing.T) {
	r, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer pw.Close()
	if _, err := unix.FcntlInt(pw.Fd(), unix.F_SETPIPE_SZ, 4096); err != nil {
		t.Fatal(err)
	}
	if _, err := pw.Write(make([]byte, 4096)); err != nil {
		t.Fatal(err)
	}
	w := New(pw, 4096, nil)
	line := []byte(strings.Repeat("x", 99) + "\n")
	var dropped uint64
	for i := 0; i < 1000; i++ {
		if !w.Offer(line) {
			dropped++
		}
	}
	if dropped == 0 || dropped == 1000 {
		t.Fatalf("%d of 1000 dropped, want some but not all", dropped)
	}
	if got := w.Dropped(); got != dropped {
		t.Errorf("Dropped() = %d, Offer reported %d", got, dropped)
	}
}
