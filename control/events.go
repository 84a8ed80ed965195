package control

import (
	"bufio"
	"context"
	"io"
	"time"

	"respawn/respawn"
)

// events streams every transition to the client until it leaves or the
// server stops. The client's buffer is a respawn.Subscriber: the event
// loop never waits for it, and what does not fit is counted, then
// reported in a Dropped line once the client has caught up. A client that
// resumes (req.After) is first sent a Lost line if some of what it missed
// is no longer held, then what is.
func (cl *client) events(req Request) {
	var sub *respawn.Subscriber
	err := cl.do(func(s *respawn.Supervisor) {
		if req.After != nil {
			sub = s.Resume(cl.a.evbuf, *req.After)
		} else {
			sub = s.Subscribe(cl.a.evbuf)
		}
	})
	if err != nil {
		_ = cl.answer(result(err))
		return
	}
	defer cl.unsubscribe(sub)
	cl.log.Debug("control: events client subscribed", "resumed", req.After != nil, "lost", sub.Lost, "reset", sub.Reset)
	seq := sub.Seq
	if cl.answer(Answer{OK: true, Seq: &seq}) != nil {
		return
	}
	if sub.Lost > 0 || sub.Reset {
		if cl.write(encode(Lost{Lost: sub.Lost, Reset: sub.Reset})) != nil {
			return
		}
	}
	gone := make(chan struct{})
	go func() {
		defer close(gone)
		_ = cl.c.SetReadDeadline(time.Time{})
		_, _ = io.Copy(io.Discard, cl.r) // until the client leaves
	}()
	cl.stream(sub, gone)
	_ = cl.c.SetReadDeadline(time.Unix(1, 0))
	<-gone
}

// stream copies transitions from sub to the client.
func (cl *client) stream(sub *respawn.Subscriber, gone <-chan struct{}) {
	w := bufio.NewWriter(cl.c)
	var reported uint64
	for {
		select {
		case t, ok := <-sub.C:
			if !ok {
				return
			}
			_ = cl.c.SetWriteDeadline(time.Now().Add(stallTimeout))
			if _, err := w.Write(encode(eventOf(t))); err != nil {
				return
			}
			if len(sub.C) > 0 {
				continue
			}
			if n := sub.Dropped.Load(); n > reported {
				_, _ = w.Write(encode(Dropped{Dropped: n - reported}))
				reported = n
			}
			if w.Flush() != nil {
				return
			}
		case <-gone:
			return
		case <-cl.a.ctx.Done():
			return
		}
	}
}

// unsubscribe removes sub from the supervisor even when the server is
// stopping, so that the loop does not count drops for nobody.
func (cl *client) unsubscribe(sub *respawn.Subscriber) {
	ctx, cancel := context.WithTimeout(context.Background(), doTimeout)
	defer cancel()
	if !cl.a.srv.Sup.Do(ctx, func(s *respawn.Supervisor) { s.Unsubscribe(sub) }) {
		cl.log.Warn("control: events client not unsubscribed: the event loop did not answer")
	}
}

func eventOf(t respawn.Transition) Event {
	ev := Event{
		Seq: t.Seq, Index: t.Index, Name: t.Name, Task: t.Task, From: t.From.String(), To: t.To.String(), Pid: t.Pid,
		Time: time.Unix(0, t.TimeNs).UTC().Format(time.RFC3339Nano),
	}
	if t.Task {
		ev.Index = 0
	}
	if t.Exit.Set {
		ev.Exit = t.Exit.String()
		ev.Acct = t.Exit.Acct
	}
	ev.Accounted = t.Accounted
	if t.Watch != "" {
		watchEvent(&ev, t)
	}
	return ev
}
