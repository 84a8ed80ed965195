package respawn

import (
	"context"
	"errors"
	"testing"
)

func TestEditDistance(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want int
	}{
		{name: "same", a: "web", b: "web", want: 0},
		{name: "one more", a: "webb", b: "web", want: 1},
		{name: "one changed", a: "wab", b: "web", want: 1},
		{name: "swapped", a: "ewb", b: "web", want: 1},
		{name: "swapped inside", a: "ngixn", b: "nginx", want: 1},
		{name: "empty", a: "", b: "abc", want: 3},
		{name: "far", a: "nginx", b: "redis", want: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := editDistance(tt.a, tt.b, 100); got != tt.want {
				t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
			}
			if got := editDistance(tt.a, tt.b, 1); tt.want >= 1 && got < 1 {
				t.Errorf("bounded: %d", got)
			}
		})
	}
}

// newTargets is a supervisor with servers web (nginx), db and cache (both
// redis-server) and a task.
func newTargets(t *testing.T) *Supervisor {
	t.Helper()
	s := New(quietConfig(), []Spec{
		{Name: "web", Argv: []string{"/usr/sbin/nginx"}},
		{Name: "db", Argv: []string{"redis-server"}},
		{Name: "cache", Argv: []string{"/usr/bin/redis-server"}},
	})
	s.AddTask("control", false, func(ctx context.Context) error { return nil })
	return s
}

func TestFind(t *testing.T) {
	s := newTargets(t)
	tests := []struct {
		name, target, want, err string
	}{
		{name: "name", target: "db", want: "db"},
		{name: "index", target: "3", want: "cache"},
		{name: "task by name", target: "control", want: "control"},
		{name: "task has no index", target: "4", err: "no server 4: servers are numbered 1 to 3"},
		{name: "zero", target: "0", err: "no server 0: servers are numbered 1 to 3"},
		{name: "program of one server", target: "nginx", want: "web"},
		{name: "program of two servers", target: "redis-server", err: `no such server "redis-server"`},
		{name: "typo", target: "wbe", err: `no such server "wbe"; did you mean "web"?`},
		{name: "typo of a task", target: "contrl", err: `did you mean "control"?`},
		{name: "nothing near", target: "postgres", err: `no such server "postgres"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := s.lookup(tt.target)
			if tt.err != "" {
				if err == nil || !errors.Is(err, ErrUnknownTarget) || err.Error() != "respawn: "+tt.err && !contains(err.Error(), tt.err) {
					t.Fatalf("lookup(%q) = %v, %v; want %q", tt.target, r, err, tt.err)
				}
				return
			}
			if err != nil || r.Name != tt.want {
				t.Fatalf("lookup(%q) = %v, %v; want %s", tt.target, r, err, tt.want)
			}
		})
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// A client that resumes gets what it missed from the history, or how
// many it lost; one from the future is told its numbers are not these.
func TestResume(t *testing.T) {
	s := New(quietConfig(), nil)
	for range EventHistory + 10 {
		s.publish(Transition{Name: "x", From: Alive, To: Dead})
	}
	last := uint64(EventHistory + 10)
	tests := []struct {
		name          string
		after         uint64
		first, queued int
		lost          uint64
		reset         bool
	}{
		{name: "up to date", after: last, queued: 0},
		{name: "missed three", after: last - 3, first: int(last) - 2, queued: 3},
		{name: "missed all held", after: 10, first: 11, queued: EventHistory},
		{name: "too late", after: 2, first: 11, queued: EventHistory, lost: 8},
		{name: "from another supervisor", after: last + 7, queued: 0, reset: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sub := s.Resume(4, tt.after)
			defer s.Unsubscribe(sub)
			if len(sub.C) != tt.queued || sub.Lost != tt.lost || sub.Reset != tt.reset {
				t.Fatalf("queued %d, lost %d, reset %v; want %d, %d, %v", len(sub.C), sub.Lost, sub.Reset, tt.queued, tt.lost, tt.reset)
			}
			if tt.queued > 0 {
				if tr := <-sub.C; tr.Seq != uint64(tt.first) {
					t.Errorf("first queued %d, want %d", tr.Seq, tt.first)
				}
			}
		})
	}
}
