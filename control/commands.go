package control

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"respawn/respawn"
)

var (
	errBusy    = fmt.Errorf("busy: the supervisor did not take the request within %s", doTimeout)
	errWait    = fmt.Errorf("still waiting after %s", waitLimit)
	errClosing = errors.New("the supervisor is shutting down")
	errGone    = errors.New("the client left before the answer")
	errSelf    = errors.New("the control socket cannot stop itself: stop respawn, or run it with --control=none")
)

// simple are the commands answered with one line.
var simple = map[string]func(*client, Request) Answer{
	"list":     (*client).list,
	"status":   (*client).status,
	"dump":     (*client).dump,
	"revive":   (*client).revive,
	"stop":     (*client).stop,
	"start":    (*client).start,
	"signal":   (*client).signal,
	"reload":   (*client).reload,
	"shutdown": (*client).shutdown,

	"fire-watchdog": (*client).fireWatchdog,

	"watch":        (*client).watch,
	"unwatch":      (*client).unwatch,
	"watch-reload": (*client).watchReload,
	"watched":      (*client).watched,
}

// handle runs one request and answers it. It reports whether the
// connection may carry another request.
func (cl *client) handle(req Request) bool {
	switch req.Cmd {
	case "events":
		cl.events(req)
		return false
	case "upgrade":
		return cl.upgrade()
	case "restart":
		return cl.waiting(req, (*client).restart)
	case "stop":
		if req.Wait {
			return cl.waiting(req, (*client).stop)
		}
	}
	cl.a.work <- struct{}{}
	ans := simple[req.Cmd](cl, req)
	b := encode(ans)
	<-cl.a.work
	if req.Cmd != "list" && req.Cmd != "status" && req.Cmd != "dump" && req.Cmd != "watched" {
		cl.logRequest(req, ans)
	}
	return cl.write(b) == nil
}

// waiting runs a request that is answered once a server has ended or
// started, which may take minutes: it holds no slot of work meanwhile, so
// other clients are answered as usual.
func (cl *client) waiting(req Request, fn func(*client, Request) Answer) bool {
	ans := fn(cl, req)
	cl.logRequest(req, ans)
	return cl.answer(ans) == nil
}

// do runs fn on the supervisor's event loop, waiting at most doTimeout for
// the loop to take it.
func (cl *client) do(fn func(*respawn.Supervisor)) error {
	ctx, cancel := context.WithTimeout(cl.a.ctx, doTimeout)
	defer cancel()
	if cl.a.srv.Sup.Do(ctx, fn) {
		return nil
	}
	if cl.a.ctx.Err() != nil {
		return errClosing
	}
	return errBusy
}

// result is the answer for err, or ok if err is nil.
func result(err error) Answer {
	if err == nil {
		return Answer{OK: true}
	}
	code := CodeFailed
	switch {
	case errors.Is(err, respawn.ErrUnknownTarget):
		code = CodeUnknownTarget
	case errors.Is(err, respawn.ErrUpgradeUnavailable):
		code = CodeUnavailable
	case errors.Is(err, errBusy):
		code = CodeBusy
	case errors.Is(err, errClosing):
		code = CodeClosing
	}
	return Answer{Error: strings.TrimPrefix(err.Error(), "respawn: "), Code: code}
}

func (cl *client) list(Request) Answer {
	var list []respawn.Info
	var w *Watching
	err := cl.do(func(s *respawn.Supervisor) {
		d := s.Snapshot()
		list, w = append(d.Servers, d.Tasks...), watchingOf(s, false)
	})
	ans := result(err)
	ans.List, ans.Watching = list, w
	return ans
}

func (cl *client) dump(Request) Answer {
	var d respawn.Dump
	err := cl.do(func(s *respawn.Supervisor) { d = s.Snapshot() })
	ans := result(err)
	if err == nil {
		ans.Dump = &d
	}
	return ans
}

func (cl *client) status(req Request) Answer {
	return cl.op(req, nil)
}

func (cl *client) revive(req Request) Answer {
	if req.Target == "" {
		n := 0
		var rerr error
		if err := cl.do(func(s *respawn.Supervisor) { n, rerr = s.Revive("") }); err != nil {
			return result(err)
		}
		ans := result(rerr)
		ans.Revived = &n
		return ans
	}
	return cl.op(req, func(s *respawn.Supervisor) error {
		_, err := s.Revive(req.Target)
		return err
	})
}

func (cl *client) stop(req Request) Answer {
	return cl.waitOp(req, req.Wait, func(s *respawn.Supervisor, done func(error)) error {
		if err := cl.notSelf(s, req.Target); err != nil {
			return err
		}
		return s.Stop(req.Target, done)
	})
}

// restart answers once the target runs again.
func (cl *client) restart(req Request) Answer {
	return cl.waitOp(req, true, func(s *respawn.Supervisor, done func(error)) error {
		if err := cl.notSelf(s, req.Target); err != nil {
			return err
		}
		return s.Restart(req.Target, done)
	})
}

// notSelf refuses a target that is the control task itself.
func (cl *client) notSelf(s *respawn.Supervisor, target string) error {
	in, err := s.Lookup(target)
	if err != nil {
		return err
	}
	if in.Task && (in.Name == cl.a.task || strings.HasPrefix(in.Name, cl.a.task+"-")) {
		return errSelf
	}
	return nil
}

func (cl *client) reload(req Request) Answer {
	var sent syscall.Signal
	ans := cl.op(req, func(s *respawn.Supervisor) (err error) {
		sent, err = s.Reload(req.Target)
		return err
	})
	if ans.OK {
		ans.Sent = unix.SignalName(sent)
	}
	return ans
}

// shutdown starts the supervisor's shutdown, as SIGTERM does, and
// answers at once: the servers stop and respawn exits after.
func (cl *client) shutdown(Request) Answer {
	return result(cl.do(func(s *respawn.Supervisor) { s.Shutdown("respawnctl") }))
}

// fireWatchdog resets the machine through the watchdog device: timeout
// 1 s, closed without the magic close.
func (cl *client) fireWatchdog(Request) Answer {
	var ferr error
	if err := cl.do(func(s *respawn.Supervisor) { ferr = s.FireWatchdog() }); err != nil {
		return result(err)
	}
	return result(ferr)
}

func (cl *client) start(req Request) Answer {
	return cl.op(req, func(s *respawn.Supervisor) error { return s.Start(req.Target) })
}

func (cl *client) signal(req Request) Answer {
	return cl.op(req, func(s *respawn.Supervisor) error { return s.Signal(req.Target, req.sig) })
}

// op runs fn (if not nil) on the target of req, then answers with the
// target's status.
func (cl *client) op(req Request, fn func(*respawn.Supervisor) error) Answer {
	var in respawn.Info
	var oerr error
	err := cl.do(func(s *respawn.Supervisor) {
		if fn != nil {
			if oerr = fn(s); oerr != nil {
				return
			}
		}
		in, oerr = s.Lookup(req.Target)
	})
	if err == nil {
		err = oerr
	}
	ans := result(err)
	if err == nil {
		ans.Status = &in
	}
	return ans
}

// waitOp runs fn on the target of req, as op does; if wait is set, it
// answers only once fn's done has been called (the supervisor calls it on
// its loop), with the target's status then, or after waitLimit, or at
// once if the client closes its connection (the request stands).
func (cl *client) waitOp(req Request, wait bool, fn func(*respawn.Supervisor, func(error)) error) Answer {
	outcome := make(chan error, 1) // sent on the loop, which must not wait
	var done func(error)
	if wait {
		done = func(err error) { outcome <- err }
	}
	ans := cl.op(req, func(s *respawn.Supervisor) error { return fn(s, done) })
	if !ans.OK || !wait {
		return ans
	}
	t := time.NewTimer(waitLimit)
	defer t.Stop()
	gone, unwatch := cl.watchGone() // a client gone gives its slot back
	defer unwatch()
	select {
	case err := <-outcome:
		if err != nil {
			return result(err)
		}
	case <-t.C:
		return result(errWait)
	case <-cl.a.ctx.Done():
		return result(errClosing)
	case <-gone:
		return result(errGone)
	}
	unwatch()
	return cl.op(req, nil)
}

// upgrade asks for the live upgrade and waits for its outcome: the loop
// goes on supervising while the new binary's pre-flight check runs. When
// the upgrade succeeds this process becomes the new image and the
// connection is closed by execve (it is close-on-exec): the client sees
// the end of the stream, not an answer. A request made while an upgrade
// is under way joins it and gets the same outcome.
func (cl *client) upgrade() bool {
	cl.log.Info("control request", "cmd", "upgrade")
	outcome := make(chan error, 1) // sent on the loop, which must not wait
	uerr := cl.do(func(s *respawn.Supervisor) { s.Upgrade(func(err error) { outcome <- err }) })
	if uerr == nil {
		uerr = <-outcome // always sent, unless execve comes first
	}
	if uerr != nil {
		cl.log.Info("control: upgrade not done", "err", uerr)
	}
	return cl.answer(result(uerr)) == nil
}

// logRequest logs a request that changes something and its outcome, at
// info level: a refusal that the supervisor logs itself (an upgrade, a
// revival while shutting down) has that line, at the same level whichever
// way it was asked, and this one only records the request.
func (cl *client) logRequest(req Request, ans Answer) {
	attrs := []any{"cmd", req.Cmd}
	if req.Target != "" {
		attrs = append(attrs, "target", req.Target)
	}
	if req.Signal != "" {
		attrs = append(attrs, "signal", req.Signal)
	}
	if req.Rule != "" {
		attrs = append(attrs, "rule", req.Rule)
	}
	switch {
	case ans.OK:
		cl.log.Info("control request", attrs...)
	case ans.Error == errGone.Error(): // not refused: it goes on
		cl.log.Info("control request", append(attrs, "client", "left before the answer")...)
	default:
		cl.log.Info("control request refused", append(attrs, "err", ans.Error)...)
	}
}
