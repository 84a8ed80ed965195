package control

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"

	"respawn/respawn"
)

// The defaults of Server's limits.
const (
	DefaultTimeout     = 5 * time.Second // to send a complete request line
	DefaultMaxClients  = 64              // served at once
	DefaultEventBuffer = 256             // transitions buffered per events client
)

// Fixed limits.
const (
	queueWait    = time.Second      // a client over MaxClients waits this long for a slot
	doTimeout    = 5 * time.Second  // for the event loop to take a request
	stallTimeout = 60 * time.Second // a client that reads nothing for this long is dropped
	drainTimeout = time.Second      // on stop, for answers in flight before connections are cut
	waitLimit    = 10 * time.Minute // for stop --wait and restart to see their target end or start
)

// Server serves the control socket for one supervisor. Its zero limits
// mean the defaults. A Server may Serve again after Serve returned (a
// restarted task), but not twice at once.
type Server struct {
	Sup         *respawn.Supervisor
	Log         *slog.Logger  // slog.Default() if nil
	Timeout     time.Duration // for a client to send a complete request; DefaultTimeout if zero
	MaxClients  int           // clients served at once; DefaultMaxClients if zero
	EventBuffer int           // transitions buffered for an events client; DefaultEventBuffer if zero
	// Task is the name of the supervisor's task that runs Serve
	// ("control" if empty): a client may not stop it, which would leave
	// no way back.
	Task string
}

// Serve runs the supervisor sup's control socket on ln with the default
// limits, logging to log. It is meant as the body of the supervisor's
// "control" task: see Server.Serve.
func Serve(ctx context.Context, ln *net.UnixListener, sup *respawn.Supervisor, log *slog.Logger) error {
	return (&Server{Sup: sup, Log: log}).Serve(ctx, ln)
}

// Serve accepts clients on ln and serves each on its own goroutine until
// ctx is cancelled; then it lets answers in flight finish (for up to a
// second), cuts the connections, and returns nil once every client
// goroutine is done. It returns an error if accepting fails for good.
// Serve never closes ln: its owner does, and may Serve again.
//
// At most MaxClients clients are served at once. One more waits up to a
// second for a slot (later ones wait in the socket's backlog); if none
// frees, it is answered CodeBusy and closed, and so is every client after
// it until a slot frees.
func (s *Server) Serve(ctx context.Context, ln *net.UnixListener) error {
	if err := ln.SetDeadline(time.Time{}); err != nil {
		return fmt.Errorf("control: %w", err)
	}
	a := newAcceptor(ctx, s)
	defer a.drain()
	wake := context.AfterFunc(ctx, func() { _ = ln.SetDeadline(time.Unix(1, 0)) })
	defer wake()
	backoff := 5 * time.Millisecond
	for {
		c, err := ln.AcceptUnix()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if !retryable(err) {
				return fmt.Errorf("control: accept: %w", err)
			}
			a.log.Warn("control: accept failed, retrying", "err", err, "in", backoff.String())
			if !sleep(ctx, backoff) {
				return nil
			}
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 5 * time.Millisecond
		a.admit(c)
	}
}

// retryable reports whether an accept error is a shortage that passes.
func retryable(err error) bool {
	for _, e := range []error{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED, syscall.EINTR} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// acceptor is one run of Serve: its slots and its clients.
type acceptor struct {
	ctx       context.Context
	srv       *Server
	log       *slog.Logger
	timeout   time.Duration
	evbuf     int
	task      string
	uid       uint32 // the supervisor's own uid, served beside root
	slots     chan struct{}
	saturated bool // the last client found no slot in time
	// work bounds the answers built and encoded at once to one fewer
	// than the CPUs Go uses, so that a storm of clients always leaves
	// the supervisor's event loop a CPU to restart servers on.
	work chan struct{}

	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[*net.UnixConn]struct{}
}

func newAcceptor(ctx context.Context, s *Server) *acceptor {
	a := &acceptor{
		ctx: ctx, srv: s, log: s.Log, timeout: s.Timeout, evbuf: s.EventBuffer, task: s.Task,
		uid: uint32(os.Getuid()), conns: map[*net.UnixConn]struct{}{},
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	if a.timeout <= 0 {
		a.timeout = DefaultTimeout
	}
	if a.evbuf <= 0 {
		a.evbuf = DefaultEventBuffer
	}
	if a.task == "" {
		a.task = "control"
	}
	n := s.MaxClients
	if n <= 0 {
		n = DefaultMaxClients
	}
	a.slots = make(chan struct{}, n)
	a.work = make(chan struct{}, max(1, runtime.GOMAXPROCS(0)-1))
	return a
}

// admit serves c on a new goroutine if a slot is free in time, or turns
// it away.
func (a *acceptor) admit(c *net.UnixConn) {
	if !a.acquire() {
		reject(c, Answer{Error: "busy: too many clients", Code: CodeBusy})
		return
	}
	a.mu.Lock()
	a.conns[c] = struct{}{}
	a.mu.Unlock()
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		defer func() { <-a.slots }()
		defer a.forget(c)
		a.serveConn(c)
	}()
}

// acquire takes a slot: at once, or after waiting up to queueWait unless
// the previous client already waited in vain.
func (a *acceptor) acquire() bool {
	select {
	case a.slots <- struct{}{}:
		a.saturated = false
		return true
	default:
	}
	if a.saturated {
		return false
	}
	t := time.NewTimer(queueWait)
	defer t.Stop()
	select {
	case a.slots <- struct{}{}:
		return true
	case <-t.C:
		a.saturated = true
		a.log.Warn("control: too many clients, turning new ones away", "max", cap(a.slots))
		return false
	case <-a.ctx.Done():
		return false
	}
}

func (a *acceptor) forget(c *net.UnixConn) {
	c.Close()
	a.mu.Lock()
	delete(a.conns, c)
	a.mu.Unlock()
}

// drain ends every client: readers waiting for a request are woken at
// once, answers in flight get drainTimeout, then every connection is cut.
func (a *acceptor) drain() {
	a.eachConn(func(c *net.UnixConn) { _ = c.SetReadDeadline(time.Unix(1, 0)) })
	done := make(chan struct{})
	go func() {
		a.wg.Wait()
		close(done)
	}()
	t := time.NewTimer(drainTimeout)
	defer t.Stop()
	select {
	case <-done:
		return
	case <-t.C:
	}
	a.eachConn(func(c *net.UnixConn) { c.Close() })
	<-done
}

func (a *acceptor) eachConn(fn func(*net.UnixConn)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for c := range a.conns {
		fn(c)
	}
}

// reject answers a client that is not served, without waiting for it.
func reject(c *net.UnixConn, ans Answer) {
	_ = c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	_, _ = c.Write(encode(ans))
	c.Close()
}
