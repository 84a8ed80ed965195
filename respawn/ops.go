package respawn

import (
	"errors"
	"fmt"
	"syscall"
)

// ErrUnknownTarget is returned for a name or index that addresses nothing.
var ErrUnknownTarget = errors.New("respawn: no such server or task")

// The methods in this file are operators' requests. Each must run on the
// event loop (from a Do function); each changes state only through the
// state table.

// Lookup returns the record addressed by target: a name, or a 1-based index.
func (s *Supervisor) Lookup(target string) (Info, error) {
	r := s.find(target)
	if r == nil {
		return Info{}, fmt.Errorf("%w: %q", ErrUnknownTarget, target)
	}
	return s.info(r, monotonicNs()), nil
}

// Revive starts target again if it is buried, or every buried record if
// target is "". It returns how many were revived. Nothing is revived
// once the supervisor is shutting down.
func (s *Supervisor) Revive(target string) (int, error) {
	if s.stopping {
		return 0, errors.New("respawn: shutting down")
	}
	if target == "" {
		return s.reviveAll(), nil
	}
	r := s.find(target)
	if r == nil {
		return 0, fmt.Errorf("%w: %q", ErrUnknownTarget, target)
	}
	if !s.fire(r, evRevive, Exit{}) {
		return 0, fmt.Errorf("respawn: %s is %s, not BURIED", r.Name, r.State)
	}
	return 1, nil
}

// Stop stops target for good: its stop signal (SIGTERM unless it has its
// own) and SIGCONT, then SIGKILL after its stop timeout (see terminate; a
// task's context is cancelled), and it is cremated when it ends. A record
// that is not running is cremated at once.
func (s *Supervisor) Stop(target string) error {
	r := s.find(target)
	if r == nil {
		return fmt.Errorf("%w: %q", ErrUnknownTarget, target)
	}
	if !s.fire(r, evStop, Exit{}) {
		return fmt.Errorf("respawn: %s is already %s", r.Name, r.State)
	}
	return nil
}

// Start starts target again if it is cremated or buried, or at once if it
// is DEAD and waiting for its paced respawn.
func (s *Supervisor) Start(target string) error {
	r := s.find(target)
	if r == nil {
		return fmt.Errorf("%w: %q", ErrUnknownTarget, target)
	}
	if s.stopping {
		return errors.New("respawn: shutting down")
	}
	if !s.fire(r, evStart, Exit{}) {
		return fmt.Errorf("respawn: %s is %s: only a CREMATED, BURIED or DEAD one can be started", r.Name, r.State)
	}
	return nil
}

// Signal sends sig to target's process group.
func (s *Supervisor) Signal(target string, sig syscall.Signal) error {
	r := s.find(target)
	if r == nil {
		return fmt.Errorf("%w: %q", ErrUnknownTarget, target)
	}
	return s.signalGroup(r, sig)
}

// Stopping reports whether the supervisor is shutting down.
func (s *Supervisor) Stopping() bool { return s.stopping }
