//go:build !linux

package acct

import (
	"errors"
	"fmt"
	"time"
)

var errUnsupported = fmt.Errorf("acct: %w", errors.ErrUnsupported)

// Start is not supported outside Linux.
func Start(cfg Config) (*Daemon, error) { return nil, errUnsupported }

// Adopt is not supported outside Linux.
func Adopt(cfg Config, st State, source, shadow int) (*Daemon, error) {
	return nil, errUnsupported
}

// Pump is not supported outside Linux.
func (d *Daemon) Pump(wait bool) (int, error) { return 0, errUnsupported }

// Tick does nothing outside Linux.
func (d *Daemon) Tick(now time.Time) {}

// Want does nothing outside Linux.
func (d *Daemon) Want(pid int, start time.Time) {}

// Unwant does nothing outside Linux.
func (d *Daemon) Unwant(pid int) {}

// Take finds nothing outside Linux.
func (d *Daemon) Take(pid int) (Record, bool) { return Record{}, false }

// Stats is empty outside Linux.
func (d *Daemon) Stats() Stats { return Stats{} }

// State is empty outside Linux.
func (d *Daemon) State() State { return State{} }

// Thaw does nothing outside Linux.
func (d *Daemon) Thaw() {}

// Close does nothing outside Linux.
func (d *Daemon) Close() {}

// Files has none outside Linux.
func (d *Daemon) Files() (source, shadow int) { return -1, -1 }

// Stop is not supported outside Linux.
func (d *Daemon) Stop() error { return errUnsupported }
