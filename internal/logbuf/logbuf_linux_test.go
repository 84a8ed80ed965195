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
