//go:build !linux

package respawn

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"respawn/marshal"
)

// The supervisor runs on Linux only: it needs a child subreaper, process
// groups it can signal, /proc and memfds. Elsewhere Run fails at once.

var errUnsupported = fmt.Errorf("respawn: %w", errors.ErrUnsupported)

type startup struct{}

func (s *Supervisor) armAlarm() *startup                        { return &startup{} }
func (s *Supervisor) disarm(*startup)                           {}
func (s *Supervisor) setup() error                              { return errUnsupported }
func (s *Supervisor) signalStop()                               {}
func (s *Supervisor) onSignal(os.Signal)                        {}
func (s *Supervisor) spawn(*Server) error                       { return errUnsupported }
func (s *Supervisor) reap()                                     {}
func (s *Supervisor) terminate(*Server)                         {}
func (s *Supervisor) shutdown(os.Signal)                        { s.stopping = true; s.cancel() }
func (s *Supervisor) onStopDeadline()                           {}
func (s *Supervisor) idleC() <-chan struct{}                    { return nil }
func (s *Supervisor) moreC() <-chan struct{}                    { return nil }
func (s *Supervisor) recordStartTimes(int)                      {}
func (s *Supervisor) resume()                                   {}
func (r *Server) stampStart()                                   {}
func (s *Supervisor) signalGroup(*Server, syscall.Signal) error { return errUnsupported }

// upgrading is a live upgrade under way, which this system cannot do.
type upgrading struct{ waiters []func(error) }

func (s *Supervisor) startUpgrade() (*upgrading, error) { return nil, errUnsupported }

// Restore is not available on this system.
func (s *Supervisor) Restore(*marshal.Snapshot, *ChildStats) error { return errUnsupported }

// ChildStats is not available on this system.
type ChildStats struct{}

// ReadChildStats is not available on this system.
func ReadChildStats() *ChildStats { return nil }

// CheckRestore is not available on this system.
func (s *Supervisor) CheckRestore(*marshal.Snapshot) error { return errUnsupported }

// Recover is not available on this system.
func (s *Supervisor) Recover(error) {}

// ParseSignalList is not available on this system.
func ParseSignalList(v string) ([]os.Signal, error) {
	if v == "" {
		return nil, nil
	}
	return nil, errUnsupported
}
