package respawn

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"

	"respawn/acct"
	"respawn/watch"
)

// acctRcvBuf is the wake-up socket's receive buffer: an overrun only
// means a wake-up merged with the next, so it need not be large.
const acctRcvBuf = 1 << 20

// run is the task: start (or take over) the daemon, then copy records as
// processes end, until the context ends; then stop it, which switches
// accounting off. A panic of the task unwinds through the same Stop.
func (a *accounter) run(s *Supervisor) TaskFunc {
	return func(ctx context.Context) error {
		if why := acctUnservable(); why != "" {
			return permanentError{fmt.Errorf("respawn: acct: %s", why)}
		}
		a.starting.Lock() // an acctStop meanwhile waits for the daemon
		d, adopted, err := a.start()
		if err == nil {
			a.d.Store(d)
		}
		a.starting.Unlock()
		if err != nil {
			return err
		}
		defer func() {
			a.d.Store(nil)
			if err := d.Stop(); err != nil {
				s.log.Warn("acct: stop", "err", err)
			}
		}()
		if !s.Do(ctx, func(s *Supervisor) { s.acctStarted(d, adopted) }) {
			return nil
		}
		return a.pump(ctx, s, d)
	}
}

// start takes over the daemon a live upgrade handed over, or starts one.
// A daemon that cannot be taken over is not left running unread: its
// accounting is switched off, and a daemon is started anew (the records
// of the processes that ended in between are lost, and the log says so).
func (a *accounter) start() (*acct.Daemon, bool, error) {
	if st := a.inherited; st != nil {
		a.inherited = nil
		d, err := acct.Adopt(a.cfg.Config, *st, a.source, a.shadow)
		if err == nil {
			return d, true, nil
		}
		syscall.Close(a.source)
		syscall.Close(a.shadow)
		_ = acct.Off()
		a.cfg.Log.Warn("acct: the old image's accounting not taken over (switched off); starting anew", "err", err)
	}
	d, err := acct.Start(a.cfg.Config)
	return d, false, err
}

// pump copies records each time a process ends (the wake-up socket says
// when; without one, every second), and does the timed work every second.
func (a *accounter) pump(ctx context.Context, s *Supervisor, d *acct.Daemon) error {
	wake := make(chan struct{}, 1)
	c, err := watch.Open(watch.Options{Exits: true, RcvBuf: acctRcvBuf})
	if err != nil {
		s.log.Warn("acct: no process events: the source is read every second", "err", err)
	} else {
		stop := context.AfterFunc(ctx, func() { _ = c.Close() })
		defer func() {
			if stop() {
				_ = c.Close()
			}
		}()
		go listen(c, wake)
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
			a.pumpOnce(ctx, s, d, true)
		case now := <-tick.C:
			d.Tick(now)
			a.pumpOnce(ctx, s, d, false)
		}
	}
}

// listen turns the exits the socket receives into wake-ups, merged while
// one is waiting, until the socket is closed.
func listen(c *watch.Conn, wake chan<- struct{}) {
	var buf []watch.Event
	for {
		evs, err := c.Receive(buf[:0])
		buf = evs
		if err != nil && !errors.Is(err, watch.ErrOverrun) {
			return
		}
		select {
		case wake <- struct{}{}:
		default:
		}
	}
}

// pumpOnce copies what is new, and has the loop attach the records of
// deaths that were waiting for them.
func (a *accounter) pumpOnce(ctx context.Context, s *Supervisor, d *acct.Daemon, wait bool) {
	n, err := d.Pump(wait)
	if err != nil {
		s.log.Warn("acct: records not copied", "err", err)
	}
	if a.npending.Load() > 0 && (n > 0 || !wait) {
		s.Do(ctx, (*Supervisor).acctResolve)
	}
}
