package respawn

import (
	"errors"
	"math/rand/v2"
	"slices"
	"syscall"
	"time"
)

// Pacing: a server that dies abnormally after --interval but within
// paceFree of its start goes to DEAD and comes back after a delay, so a
// server that dies within milliseconds again and again costs bounded
// CPU and memory whatever --interval is. The delay is paceFirst after
// the first such life and doubles with each one in a row, up to paceMax;
// a life of paceFree or more resets it, and such a death respawns at
// once. A spawn that fails for a reason that may pass (EAGAIN, ENOMEM:
// the fork, not the program) is retried on the same schedule.
//
// Each delay is stretched by a random fraction of up to a half, so that
// servers that crashed together (a dependency went away) drift apart
// instead of coming back in one burst of forks; and one turn of the loop
// starts at most paceBatch of them, so that a death elsewhere waits for
// at most that many forks.
const (
	paceFree  = time.Second
	paceFirst = 10 * time.Millisecond
	paceMax   = time.Second
	paceBatch = 8
)

// paceDelay is the delay after n short lives in a row (n >= 1).
func paceDelay(n int) time.Duration { return doubling(paceFirst, paceMax, n) }

// doubling is first doubled with each of n-1 steps, at most limit.
func doubling(first, limit time.Duration, n int) time.Duration {
	d := first
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}

// transient reports whether a spawn error may pass by itself.
func transient(err error) bool {
	return errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.ENOMEM)
}

// schedule makes DEAD record r respawn after d. A record is in s.due at
// most once: exactly while its dueNs is set.
func (s *Supervisor) schedule(r *Server, d time.Duration) {
	s.scheduleAt(r, monotonicNs()+int64(d)+rand.Int64N(int64(d)/2+1))
}

// scheduleAt makes DEAD record r respawn at at (CLOCK_MONOTONIC, ns), as
// it is: a time carried across an upgrade is not stretched again.
func (s *Supervisor) scheduleAt(r *Server, at int64) {
	if r.dueNs == 0 {
		s.due = append(s.due, r)
	}
	r.dueNs = at
	s.view = nil // Snapshot shows when
	if s.dueC == nil || at < s.dueAt {
		s.armDue(at)
	}
}

// unschedule takes r off the respawn list: it is started or stopped
// before its delay ran out, and a DEAD record alone may wait (a snapshot
// refuses a respawn due in any other state). The timer may then fire
// for nothing.
func (s *Supervisor) unschedule(r *Server) {
	if r.dueNs == 0 {
		return
	}
	r.dueNs = 0
	s.due = slices.DeleteFunc(s.due, func(o *Server) bool { return o == r })
}

// armDue arms the loop's one respawn timer for at (CLOCK_MONOTONIC, ns).
func (s *Supervisor) armDue(at int64) {
	s.dueC, s.dueAt = armAt(&s.dueTimer, at), at
}

// armAt arms the loop timer *t, made on first use, to fire at at
// (CLOCK_MONOTONIC, ns), and returns its channel.
func armAt(t **time.Timer, at int64) <-chan time.Time {
	d := time.Duration(at - monotonicNs())
	if *t == nil {
		*t = time.NewTimer(d)
	} else {
		(*t).Reset(d) // Go 1.23 timers: no stale value to drain
	}
	return (*t).C
}

// respawnDue fires the (DEAD, respawn) cell of up to paceBatch records
// whose delay has passed, and arms the timer for the next. A record
// stopped meanwhile leaves the list; on shutdown they all do.
func (s *Supervisor) respawnDue() {
	s.dueC = nil
	now := monotonicNs()
	var fire []*Server
	keep, next := s.due[:0], int64(0)
	for _, r := range s.due {
		switch {
		case r.State != Dead || s.stopping:
			r.dueNs = 0
		case r.dueNs <= now && len(fire) < paceBatch:
			r.dueNs = 0
			fire = append(fire, r)
		default:
			keep = append(keep, r)
			if next == 0 || r.dueNs < next {
				next = r.dueNs
			}
		}
	}
	clear(s.due[len(keep):])
	s.due = keep
	if next != 0 {
		s.armDue(next)
	}
	for _, r := range fire {
		s.fire(r, evRespawn, Exit{})
		s.keepalives()
	}
}
