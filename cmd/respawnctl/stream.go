package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"respawn/control"
)

// events prints every transition until interrupted (SIGINT or SIGTERM,
// exit 0) or until the supervisor closes the stream for good (exit 1). A
// stream cut by a live upgrade's execve is resumed: respawnctl connects
// again and asks for what came after the last transition it printed.
func (c *ctl) events() int {
	st := &stream{ctl: c, left: make(chan struct{})}
	ans, err := st.connect(nil)
	if err != nil {
		return c.fail(err)
	}
	if !ans.OK {
		return c.failed(control.Request{Cmd: "events"}, ans)
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sigs
		st.leave()
	}()
	for {
		err = c.copyEvents(st.cur, &st.last)
		if st.gone() {
			return exitOK
		}
		if err != nil {
			return c.fail(err)
		}
		if st.last == nil {
			return c.fail(errors.New("events: the supervisor closed the stream"))
		}
		if err := st.resume(); err != nil {
			if st.gone() {
				return exitOK
			}
			return c.fail(fmt.Errorf("events: the supervisor closed the stream (%w)", err))
		}
	}
}

// stream is the events client's connection, replaced on a resume.
type stream struct {
	ctl  *ctl
	mu   sync.Mutex
	cur  *conn
	left chan struct{} // closed when the operator interrupts
	last *uint64       // the sequence number of the last transition seen; nil if the supervisor gives none
}

// connect subscribes, resuming after *after if it is not nil, and returns
// the answer. The JSON answer line is printed for the first subscription
// only: a resumed stream goes on as one.
func (st *stream) connect(after *uint64) (control.Answer, error) {
	c := st.ctl
	cn, err := c.dial()
	if err != nil {
		return control.Answer{}, err
	}
	ans, raw, err := c.call(cn, control.Request{Cmd: "events", After: after})
	if err != nil || !ans.OK {
		cn.c.Close()
		if err == nil && after == nil && c.json {
			c.out.Write(raw)
		}
		return ans, err
	}
	if after == nil && c.json {
		c.out.Write(raw)
	}
	_ = cn.c.SetDeadline(time.Time{})
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.gone() {
		cn.c.Close()
	}
	st.cur, st.last = cn, ans.Seq
	return ans, nil
}

// resume connects again after the stream ended, for up to the timeout:
// a supervisor between two images answers once its new image serves the
// socket (a connection the old image had accepted may be cut: that is
// retried too). A socket that is gone or refuses for goneGrace means the
// supervisor is: respawnctl then ends without waiting for the timeout.
func (st *stream) resume() error {
	st.cur.c.Close()
	start := time.Now()
	for {
		ans, err := st.connect(st.last)
		switch {
		case err == nil && ans.OK:
			return nil
		case err == nil:
			return errors.New(ans.Error)
		case st.gone(), time.Since(start) > st.ctl.timeout:
			return err
		case goneErr(err) && time.Since(start) > goneGrace:
			return err
		case !goneErr(err) && !transient(err) && !errors.Is(err, syscall.EPIPE):
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// goneGrace is how long a socket that is missing or refuses is tried
// again after the stream ended: a new image that had to listen anew
// replaces it at once.
const goneGrace = time.Second

func goneErr(err error) bool {
	return errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED)
}

func (st *stream) leave() {
	st.mu.Lock()
	defer st.mu.Unlock()
	close(st.left)
	if st.cur != nil {
		st.cur.c.Close()
	}
}

func (st *stream) gone() bool {
	select {
	case <-st.left:
		return true
	default:
		return false
	}
}

// copyEvents prints the stream until it ends; nil means a clean end. It
// keeps *last at the sequence number of the last transition printed.
func (c *ctl) copyEvents(cn *conn, last **uint64) error {
	for {
		line, err := cn.r.ReadBytes('\n')
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.ECONNRESET) {
				return nil
			}
			return fmt.Errorf("events: %w", err)
		}
		var l control.StreamLine
		if err := json.Unmarshal(line, &l); err != nil {
			return fmt.Errorf("events: unreadable line: %w", err)
		}
		if l.Seq > 0 && *last != nil {
			seq := l.Seq
			*last = &seq
		}
		if c.json {
			if _, err := c.out.Write(line); err != nil {
				return fmt.Errorf("events: %w", err)
			}
			continue
		}
		writeEvent(c.out, l)
	}
}
