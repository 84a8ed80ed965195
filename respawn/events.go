package respawn

import "sync/atomic"

// EventHistory is how many of the latest transitions the supervisor
// keeps, and a live upgrade carries, for events clients that reconnect.
const EventHistory = 256

// Transition is one state change of a server or task, as published to
// subscribers. Seq numbers the transitions of the supervisor from 1, one
// by one, across live upgrades.
type Transition struct {
	Seq    uint64
	Index  int
	Name   string
	Task   bool
	From   State
	To     State
	Pid    int
	Exit   Exit
	TimeNs int64

	// Watch is set for an event of a watched process (From and To are
	// then zero): "exec" (picked up, or it called execve), "exit",
	// "gone" (its exit was not seen: the connector overran), "unwatched"
	// (no rule matches it any more), "lost" (events were dropped; Pid is
	// 0 and Lost says how many, 0 if unknown), "restart" (respawn starts
	// it as its own server, whose index is Index). Rule is the rule that
	// matched.
	Watch string
	Rule  string
	Lost  uint64

	// Accounted is set for the accounting record of a death read after
	// the death's own transition: Exit is that death's, with Acct, and
	// From and To are the server's state when it was read.
	Accounted bool
}

// Subscriber receives transitions on C, a bounded buffer. The event loop
// never waits for a subscriber: when C is full, the transition is dropped
// and counted in Dropped.
type Subscriber struct {
	C       chan Transition
	Dropped atomic.Uint64

	// Seq is the sequence number of the last transition before the
	// subscription (or before the first one queued in C by a resume).
	Seq uint64
	// Lost is how many of the transitions a resume asked for the
	// supervisor no longer held; Reset says the sequence the client
	// knew is not this supervisor's (it rebuilt itself without its
	// snapshot): what happened since is unknown.
	Lost  uint64
	Reset bool
}

// Subscribe adds a subscriber with a buffer of n transitions. It must run
// on the event loop (from a Do function).
func (s *Supervisor) Subscribe(n int) *Subscriber {
	sub := &Subscriber{C: make(chan Transition, n), Seq: s.seq}
	s.subs = append(s.subs, sub)
	return sub
}

// Resume adds a subscriber as Subscribe does, for a client whose last
// transition was number after: the later ones still held are queued first
// (C has room for them beside n), and Lost counts the others. It must run
// on the event loop.
func (s *Supervisor) Resume(n int, after uint64) *Subscriber {
	held := s.history.since(after)
	sub := &Subscriber{C: make(chan Transition, n+len(held)), Seq: after}
	switch {
	case after > s.seq:
		sub.Reset, sub.Seq = true, s.seq
	case len(held) > 0:
		sub.Lost = held[0].Seq - after - 1
	default:
		sub.Lost = s.seq - after
	}
	for _, t := range held {
		sub.C <- t
	}
	s.subs = append(s.subs, sub)
	return sub
}

// Unsubscribe removes sub and closes its channel. It must run on the event
// loop (from a Do function).
func (s *Supervisor) Unsubscribe(sub *Subscriber) {
	for i, x := range s.subs {
		if x == sub {
			s.subs = append(s.subs[:i], s.subs[i+1:]...)
			close(sub.C)
			return
		}
	}
}

func (s *Supervisor) publish(t Transition) {
	s.seq++
	t.Seq = s.seq
	s.history.add(t)
	for _, sub := range s.subs {
		select {
		case sub.C <- t:
		default:
			sub.Dropped.Add(1)
			s.droppedEvents++
		}
	}
}

func (s *Supervisor) dropped() uint64 { return s.droppedEvents }

// history is a ring of the latest EventHistory transitions.
type history struct {
	buf  []Transition
	next int // where the next one goes once buf is full
}

func (h *history) add(t Transition) {
	if len(h.buf) < EventHistory {
		h.buf = append(h.buf, t)
		return
	}
	h.buf[h.next] = t
	h.next = (h.next + 1) % EventHistory
}

// all returns the held transitions, oldest first.
func (h *history) all() []Transition {
	return append(append([]Transition(nil), h.buf[h.next:]...), h.buf[:h.next]...)
}

// since returns the held transitions numbered after seq, oldest first.
func (h *history) since(seq uint64) []Transition {
	all := h.all()
	for i, t := range all {
		if t.Seq > seq {
			return all[i:]
		}
	}
	return nil
}
