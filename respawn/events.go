package respawn

import "sync/atomic"

// Transition is one state change of a server or task, as published to
// subscribers.
type Transition struct {
	Index  int    `json:"index"`
	Name   string `json:"name"`
	From   State  `json:"-"`
	To     State  `json:"-"`
	Pid    int    `json:"pid"`
	Exit   Exit   `json:"-"`
	TimeNs int64  `json:"-"`
}

// Subscriber receives transitions on C, a bounded buffer. The event loop
// never waits for a subscriber: when C is full, the transition is dropped
// and counted in Dropped.
type Subscriber struct {
	C       chan Transition
	Dropped atomic.Uint64
}

// Subscribe adds a subscriber with a buffer of n transitions. It must run
// on the event loop (from a Do function).
func (s *Supervisor) Subscribe(n int) *Subscriber {
	sub := &Subscriber{C: make(chan Transition, n)}
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
