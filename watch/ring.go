package watch

import "sync"

// Ring is a bounded queue of events from the socket's reader goroutine
// (the one producer) to the event loop (the one consumer). A push to a
// full ring drops the event and counts it; the next Drain then starts
// with one KindLost event carrying the count of that episode (0 if the
// socket overran meanwhile: then nobody knows how many were lost).
//
// A mutex guards it: each side holds it for a copy, never across a wait.
type Ring struct {
	mu      sync.Mutex
	buf     []Event
	head    int // the oldest event
	n       int // events held
	lost    uint64
	unknown bool // the socket overran in this episode
	episode bool // a KindLost is due
	dropped uint64
	ready   chan struct{}
}

// NewRing returns a ring holding at most n events (n >= 1).
func NewRing(n int) *Ring {
	return &Ring{buf: make([]Event, max(n, 1)), ready: make(chan struct{}, 1)}
}

// Push adds e; false if the ring was full and e was dropped.
func (r *Ring) Push(e Event) bool {
	r.mu.Lock()
	ok := r.n < len(r.buf)
	if ok {
		r.buf[(r.head+r.n)%len(r.buf)] = e
		r.n++
	} else {
		r.lost++
		r.dropped++
		r.episode = true
	}
	r.mu.Unlock()
	r.signal()
	return ok
}

// Lost records that events were lost before reaching the ring (an
// overrun of the socket): the next Drain starts with a KindLost event.
func (r *Ring) Lost() {
	r.mu.Lock()
	r.unknown = true
	r.episode = true
	r.mu.Unlock()
	r.signal()
}

// Ready has a value after a Push or Lost that the consumer has not yet
// drained: the event loop selects on it.
func (r *Ring) Ready() <-chan struct{} { return r.ready }

// Drain appends up to max events to dst, oldest first, and signals Ready
// again if more are left. A KindLost event, when due, comes first and
// counts toward max.
func (r *Ring) Drain(dst []Event, max int) []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.episode && max > 0 {
		dst = append(dst, r.lostEvent())
		max--
	}
	k := min(max, r.n)
	for range k {
		dst = append(dst, r.buf[r.head])
		r.buf[r.head] = Event{}
		r.head = (r.head + 1) % len(r.buf)
	}
	r.n -= k
	if r.n > 0 || r.episode {
		r.signal()
	}
	return dst
}

// lostEvent ends the episode of losses.
func (r *Ring) lostEvent() Event {
	e := Event{Kind: KindLost, Lost: r.lost}
	if r.unknown {
		e.Lost = 0
	}
	r.lost, r.unknown, r.episode = 0, false, false
	return e
}

// signal makes Ready readable, once.
func (r *Ring) signal() {
	select {
	case r.ready <- struct{}{}:
	default:
	}
}

// Len is how many events the ring holds now: the next Drains deliver as
// many, counting the KindLost of an episode not yet drained (so a loop
// that drains while Len > 0 before a live upgrade hears of the loss).
func (r *Ring) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.n
	if r.episode {
		n++
	}
	return n
}

// Dropped is the total count of events dropped because the ring was full.
func (r *Ring) Dropped() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dropped
}

// Cap is the ring's size.
func (r *Ring) Cap() int { return len(r.buf) }
