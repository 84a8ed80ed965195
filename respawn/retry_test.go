package respawn

import (
	"testing"
	"time"
)

// TestRetries follows a record through its restart policy: each fast
// death with a retry left leaves it DEAD with a retry due after a delay
// that doubles from 100 ms, the loop's timer starts it only once that
// delay has passed, and the death after the last retry buries it with
// the count kept; a revive starts a fresh count.
func TestRetries(t *testing.T) {
	rc := newTaskRecord(t, Alive)
	s, r := rc.s, rc.r
	x := Exit{Code: 1, Set: true}
	for i, want := range []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond} {
		before := monotonicNs()
		s.fire(r, evExitFast, x)
		if r.State != Dead || r.fast != i+1 || len(s.due) != 1 || s.dueC == nil {
			t.Fatalf("fast death %d: state %v, fast %d, %d due, timer armed %v", i+1, r.State, r.fast, len(s.due), s.dueC != nil)
		}
		if got := time.Duration(r.dueNs - before); got < want || got > want*3/2+time.Second {
			t.Fatalf("fast death %d: retry due in %v, want %v to %v", i+1, got, want, want*3/2)
		}
		in := s.Snapshot().Tasks[0]
		if in.Retry != i+1 || in.NextStart == "" || in.Revive != "" {
			t.Fatalf("fast death %d: shown as %+v", i+1, in)
		}
		s.respawnDue() // too early
		if r.State != Dead {
			t.Fatalf("fast death %d: retried before its delay", i+1)
		}
		<-s.dueC
		s.respawnDue()
		if r.State != Alive || r.fast != i+1 || len(s.due) != 0 {
			t.Fatalf("fast death %d: after the delay state %v, fast %d, %d due", i+1, r.State, r.fast, len(s.due))
		}
	}
	s.fire(r, evExitFastLast, x)
	in := s.Snapshot().Tasks[0]
	if r.State != Buried || r.fast != 3 || len(s.due) != 0 || in.Retry != 3 || in.NextStart != "" || in.Revive != "respawnctl revive t, or SIGUSR2 to respawn" {
		t.Fatalf("after the last retry: state %v, fast %d, %d due, shown as %+v", r.State, r.fast, len(s.due), in)
	}
	s.fire(r, evRevive, Exit{})
	if r.State != Alive || r.fast != 0 {
		t.Fatalf("revived: state %v, fast %d, want ALIVE with a fresh count", r.State, r.fast)
	}
}

// A life that reaches the interval makes the retries whole again, at its
// death whatever its pace; a cremation does too.
func TestRetriesReset(t *testing.T) {
	for _, ev := range []event{evExitShort, evExitLate, evExitClean} {
		t.Run(ev.String(), func(t *testing.T) {
			rc := newTaskRecord(t, Alive)
			s, r := rc.s, rc.r
			r.fast = 2
			s.fire(r, ev, Exit{Code: 1, Set: true})
			if r.fast != 0 {
				t.Fatalf("fast %d after %v, want 0", r.fast, ev)
			}
		})
	}
}

// An ALIVE record shows its retry until it has lived the interval.
func TestRetryShownUntilInterval(t *testing.T) {
	rc := newTaskRecord(t, Alive)
	s, r := rc.s, rc.r
	s.cfg.Interval = time.Hour
	r.fast, r.StartNs = 2, monotonicNs()
	s.view = nil
	if in := s.Snapshot().Tasks[0]; in.Retry != 2 {
		t.Fatalf("retry %d shown within the interval, want 2", in.Retry)
	}
	r.StartNs = monotonicNs() - int64(time.Hour)
	s.view = nil
	if in := s.Snapshot().Tasks[0]; in.Retry != 0 {
		t.Fatalf("retry %d shown after the interval, want 0", in.Retry)
	}
}

// An operator's start of a record waiting for its retry starts it at once
// and keeps the count; a stop cremates it with a fresh count. Either way
// it leaves the respawn list: a snapshot refuses a respawn due for a
// record that is not DEAD.
func TestRetryOperator(t *testing.T) {
	for _, ev := range []event{evStart, evStop} {
		t.Run(ev.String(), func(t *testing.T) {
			rc := newTaskRecord(t, Alive)
			s, r := rc.s, rc.r
			s.fire(r, evExitFast, Exit{Code: 1, Set: true})
			s.fire(r, ev, Exit{})
			wantFast, wantState := 1, Alive
			if ev == evStop {
				wantFast, wantState = 0, Cremated
			}
			if r.State != wantState || r.fast != wantFast || r.dueNs != 0 || len(s.due) != 0 {
				t.Fatalf("state %v, fast %d, due %d, %d listed", r.State, r.fast, r.dueNs, len(s.due))
			}
			if rec := s.snapshot().Records[0]; rec.DueNs != 0 || rec.Fast != wantFast {
				t.Fatalf("snapshot record %+v", rec)
			}
		})
	}
}

// The retries used and the time a retry is due ride in the snapshot.
func TestRetryCarried(t *testing.T) {
	rc := newTaskRecord(t, Alive)
	s, r := rc.s, rc.r
	s.fire(r, evExitFast, Exit{Code: 1, Set: true})
	s.fire(r, evStart, Exit{})
	s.fire(r, evExitFast, Exit{Code: 1, Set: true})
	rec := s.snapshot().Records[0]
	if rec.Fast != 2 || rec.DueNs != r.dueNs || rec.DueNs == 0 {
		t.Fatalf("snapshot record: fast %d, due %d; the record has due %d", rec.Fast, rec.DueNs, r.dueNs)
	}
	var back Server
	back.apply(&rec)
	if back.fast != 2 || back.carriedDue != rec.DueNs || back.State != Dead {
		t.Fatalf("applied: fast %d, carried due %d, state %v", back.fast, back.carriedDue, back.State)
	}
}

func TestRetryDelay(t *testing.T) {
	tests := []struct {
		name string
		n    int
		want time.Duration
	}{
		{"first", 1, 100 * time.Millisecond},
		{"second", 2, 200 * time.Millisecond},
		{"third", 3, 400 * time.Millisecond},
		{"seventh", 7, 6400 * time.Millisecond},
		{"eighth caps", 8, 10 * time.Second},
		{"many", 1 << 30, 10 * time.Second},
		{"zero as the first", 0, 100 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := retryDelay(tt.n); got != tt.want {
			t.Errorf("%s: retryDelay(%d) = %v, want %v", tt.name, tt.n, got, tt.want)
		}
	}
}
