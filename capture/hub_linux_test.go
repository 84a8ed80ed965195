//go:build linux

package capture

import (
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// lineSink collects what the reader writes.
type lineSink struct {
	mu  sync.Mutex
	out strings.Builder
}

func (s *lineSink) Offer(p []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.out.Write(p)
	return true
}

func (s *lineSink) wait(t *testing.T, want string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		s.mu.Lock()
		got := s.out.String()
		s.mu.Unlock()
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("sink holds %q, want %q", got, want)
		}
	}
}

// The write ends Writers opens through /proc/self/fd write into the pipes
// the reader reads, start after start: the pipe outlives its writers, and
// a hang-up between two starts stops nothing.
func TestWritersReachReader(t *testing.T) {
	sink := &lineSink{}
	h := New(Config{Sink: sink})
	p, err := h.Open("web", File{})
	if err != nil {
		t.Fatal(err)
	}
	want := ""
	for gen := range 3 {
		out, errw, err := p.Writers()
		if err != nil {
			t.Fatal(err)
		}
		unix.Write(out, []byte("out "+string(rune('0'+gen))+"\n"))
		unix.Close(out)
		want += "web| out " + string(rune('0'+gen)) + "\n"
		sink.wait(t, want)
		unix.Write(errw, []byte("err\n"))
		unix.Close(errw)
		want += "web| err\n"
		sink.wait(t, want)
	}
}
