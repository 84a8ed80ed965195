package watch

import (
	"slices"
	"testing"
	"time"
)

// The ring's producer and consumer are goroutines of one process: these
// tests need no kernel.

func exitOf(pid int) Event { return Event{Kind: KindExit, Pid: pid, Tgid: pid} }

// pids lists the pids of evs, with -n for a KindLost of n events.
func pids(evs []Event) []int {
	var out []int
	for _, e := range evs {
		if e.Kind == KindLost {
			out = append(out, -int(e.Lost))
			continue
		}
		out = append(out, e.Pid)
	}
	return out
}

func TestRing(t *testing.T) {
	tests := []struct {
		name    string
		cap     int
		push    int  // events 1..push
		overrun bool // the socket overran after the pushes
		max     int
		want    []int
		dropped uint64
	}{
		{"in order", 4, 3, false, 10, []int{1, 2, 3}, 0},
		{"max", 4, 4, false, 2, []int{1, 2}, 0},
		{"full: one lost event first", 2, 5, false, 10, []int{-3, 1, 2}, 3},
		{"lost counts toward max", 2, 5, false, 2, []int{-3, 1}, 3},
		{"overrun: an unknown number", 4, 2, true, 10, []int{0, 1, 2}, 0},
		{"overrun and full", 1, 3, true, 10, []int{0, 1}, 2},
		{"size 0 holds one", 0, 2, false, 10, []int{-1, 1}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRing(tt.cap)
			for i := 1; i <= tt.push; i++ {
				r.Push(exitOf(i))
			}
			if tt.overrun {
				r.Lost()
			}
			if got := pids(r.Drain(nil, tt.max)); !slices.Equal(got, tt.want) {
				t.Errorf("drained %v, want %v", got, tt.want)
			}
			if r.Dropped() != tt.dropped {
				t.Errorf("dropped %d, want %d", r.Dropped(), tt.dropped)
			}
		})
	}
}

// TestRingEpisodes: each episode of drops gives one KindLost with its own
// count; Dropped sums them all.
func TestRingEpisodes(t *testing.T) {
	r := NewRing(1)
	r.Push(exitOf(1))
	r.Push(exitOf(2))
	if r.Len() != 2 {
		t.Errorf("Len %d with one event held and a loss due, want 2", r.Len())
	}
	if got := pids(r.Drain(nil, 10)); !slices.Equal(got, []int{-1, 1}) {
		t.Fatalf("first episode: %v", got)
	}
	r.Push(exitOf(3))
	if got := pids(r.Drain(nil, 10)); !slices.Equal(got, []int{3}) {
		t.Fatalf("no drop: %v", got)
	}
	for i := 4; i <= 7; i++ {
		r.Push(exitOf(i))
	}
	if got := pids(r.Drain(nil, 10)); !slices.Equal(got, []int{-3, 4}) {
		t.Fatalf("second episode: %v", got)
	}
	if r.Dropped() != 4 || r.Cap() != 1 || r.Len() != 0 {
		t.Errorf("dropped %d, cap %d, len %d", r.Dropped(), r.Cap(), r.Len())
	}
}

// TestRingReady: Ready has a value after a push, none after everything
// was drained, and one again while events are left.
func TestRingReady(t *testing.T) {
	r := NewRing(8)
	if ready(r) {
		t.Fatal("ready when empty")
	}
	r.Push(exitOf(1))
	r.Push(exitOf(2))
	if !ready(r) {
		t.Fatal("not ready after a push")
	}
	r.Drain(nil, 1)
	if !ready(r) {
		t.Fatal("not ready with an event left")
	}
	r.Drain(nil, 1)
	if ready(r) {
		t.Fatal("ready when drained")
	}
	r.Lost()
	if !ready(r) {
		t.Fatal("not ready after a loss")
	}
}

func ready(r *Ring) bool {
	select {
	case <-r.Ready():
		return true
	default:
		return false
	}
}

// TestRingConcurrent: a producer and a consumer on two goroutines (run
// with -race): every event is delivered once and in order, or counted as
// dropped.
func TestRingConcurrent(t *testing.T) {
	const total = 200000
	r := NewRing(64)
	go func() {
		for i := 1; i <= total; i++ {
			r.Push(exitOf(i))
		}
		fails := uint32(0)
		for !r.Push(Event{Kind: KindNone, Seq: fails + 1}) {
			fails++ // each failed push is counted as dropped too
		}
	}()
	last, got, lost := 0, 0, uint64(0)
	deadline := time.After(30 * time.Second)
	for {
		select {
		case <-r.Ready():
		case <-deadline:
			t.Fatalf("stuck after %d events", got)
		}
		for _, e := range r.Drain(nil, 16) {
			switch e.Kind {
			case KindLost:
				lost += e.Lost
			case KindNone:
				if uint64(got)+lost != total+uint64(e.Seq-1) || lost != r.Dropped() {
					t.Fatalf("%d delivered + %d lost, want %d (dropped %d)", got, lost, total, r.Dropped())
				}
				return
			default:
				if e.Pid <= last {
					t.Fatalf("event %d after %d", e.Pid, last)
				}
				last = e.Pid
				got++
			}
		}
	}
}
