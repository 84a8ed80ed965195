package respawn

import "fmt"

// waitFor is what an operator's request waits for a record to reach.
type waitFor uint8

const (
	waitEnd   waitFor = iota // stop --wait: no longer ALIVE
	waitStart                // restart: ALIVE again
)

// waiter is a request waiting on a record: done is called on the loop
// once, when the record gets there or cannot.
type waiter struct {
	what waitFor
	done func(error)
}

// await registers done (if not nil) to be called when r gets to what.
func (s *Supervisor) await(r *Server, what waitFor, done func(error)) {
	if done != nil {
		r.waiters = append(r.waiters, waiter{what, done})
	}
}

// settle tells the requests waiting on r that r has entered state to with
// the ending x, and forgets those it answered. DEAD on the way to a
// restart's start is not an answer.
func (s *Supervisor) settle(r *Server, to State, x Exit) {
	kept := r.waiters[:0]
	for _, w := range r.waiters {
		err, answered := w.outcome(r, to, x)
		if !answered {
			kept = append(kept, w)
			continue
		}
		w.done(err)
	}
	clear(r.waiters[len(kept):])
	r.waiters = kept
}

// outcome is the answer to w when its record r enters to, if it is one.
func (w waiter) outcome(r *Server, to State, x Exit) (error, bool) {
	switch {
	case w.what == waitEnd:
		return nil, to != Alive
	case to == Alive:
		return nil, true
	case to == Buried:
		return fmt.Errorf("respawn: %s did not start: %s", r.Name, x), true
	case to == Cremated:
		return fmt.Errorf("respawn: %s was stopped before it started again", r.Name), true
	}
	return nil, false
}
