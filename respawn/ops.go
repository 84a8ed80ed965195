package respawn

import (
	"errors"
	"fmt"
	"syscall"
)

// ErrShuttingDown is returned for a request that would start something
// while the supervisor is shutting down.
var ErrShuttingDown = errors.New("respawn: shutting down")

// The methods in this file are operators' requests. Each must run on the
// event loop (from a Do function); each changes state only through the
// state table. A done function, where one is taken, is called on the
// loop and must not block.

// Lookup returns the record addressed by target: a name, a server's
// 1-based index, or the program of exactly one server.
func (s *Supervisor) Lookup(target string) (Info, error) {
	r, err := s.lookup(target)
	if err != nil {
		return Info{}, err
	}
	return s.info(r, monotonicNs()), nil
}

// Revive starts target again if it is buried, or every buried record if
// target is "". It returns how many were revived. Nothing is revived
// once the supervisor is shutting down.
func (s *Supervisor) Revive(target string) (int, error) {
	if s.stopping {
		s.log.Info("revive refused: shutting down", "buried", s.countState(Buried))
		return 0, ErrShuttingDown
	}
	if target == "" {
		return s.reviveAll(), nil
	}
	r, err := s.lookup(target)
	if err != nil {
		return 0, err
	}
	if !s.fire(r, evRevive, Exit{}) {
		return 0, fmt.Errorf("respawn: %s is %s, not BURIED", r.Name, r.State)
	}
	return 1, nil
}

// Stop stops target for good: its stop signal (SIGTERM unless it has its
// own) and SIGCONT, then SIGKILL after its stop timeout (see terminate; a
// task's context is cancelled), and it is cremated when it ends. A record
// that is not running is cremated at once. A stopped server stays
// CREMATED, and keeps the supervisor running, until an operator starts
// it. done, if not nil, is called once target has ended (at once if it
// was not running), or with an error if it was started again first.
func (s *Supervisor) Stop(target string, done func(error)) error {
	r, err := s.lookup(target)
	if err != nil {
		return err
	}
	if r.State == Cremated {
		return fmt.Errorf("respawn: %s is already %s", r.Name, r.State)
	}
	r.restart = false // a stop wins over a pending restart
	s.await(r, waitEnd, done)
	s.fire(r, evStop, Exit{})
	return nil
}

// Restart stops target, waits until it has ended, and starts it again; a
// record that is not running is started at once. Both steps happen on the
// loop: the record remembers the restart, and the handler of its death
// starts it (evExitRestart), so a crash between the stop and the death
// still gives exactly one new start. Either way its pacing and retries
// start afresh. done, if not nil, is called once it runs again, or with
// the reason it does not.
func (s *Supervisor) Restart(target string, done func(error)) error {
	r, err := s.lookup(target)
	if err != nil {
		return err
	}
	if s.stopping {
		return ErrShuttingDown
	}
	s.await(r, waitStart, done)
	if r.State != Alive {
		// As a restart of a running record does (aliveExitRestart):
		// one waiting in DEAD is not started as the retry it awaits.
		r.short, r.fast = 0, 0
		s.fire(r, evStart, Exit{})
		return nil
	}
	r.restart = true
	s.fire(r, evStop, Exit{})
	return nil
}

// Start starts target again if it is cremated or buried, or at once if it
// is DEAD and waiting for its paced respawn.
func (s *Supervisor) Start(target string) error {
	r, err := s.lookup(target)
	if err != nil {
		return err
	}
	if s.stopping {
		return ErrShuttingDown
	}
	if !s.fire(r, evStart, Exit{}) {
		return fmt.Errorf("respawn: %s is %s: only a CREMATED, BURIED or DEAD one can be started", r.Name, r.State)
	}
	return nil
}

// Signal sends sig to target's process group.
func (s *Supervisor) Signal(target string, sig syscall.Signal) error {
	r, err := s.lookup(target)
	if err != nil {
		return err
	}
	return s.signalGroup(r, sig)
}

// Reload sends target its reload signal (--reload-signal, SIGHUP if not
// given), to its process group or, with --kill-mode=pid or mixed, to its
// main process alone, and returns the signal sent.
func (s *Supervisor) Reload(target string) (syscall.Signal, error) {
	r, err := s.lookup(target)
	if err != nil {
		return 0, err
	}
	sig := r.Set.ReloadSignal
	if sig == 0 {
		sig = syscall.SIGHUP
	}
	return sig, s.signalReload(r, sig)
}

// Shutdown stops every server and ends the supervisor, as SIGTERM does.
func (s *Supervisor) Shutdown(by string) {
	if !s.stopping {
		s.log.Info("shutting down", "by", by)
	}
	s.shutdown(syscall.SIGTERM)
}

// Stopping reports whether the supervisor is shutting down.
func (s *Supervisor) Stopping() bool { return s.stopping }
