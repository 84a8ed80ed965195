//go:build !linux

package respawn

import "syscall"

// signalReload is not available on this system.
func (s *Supervisor) signalReload(*Server, syscall.Signal) error { return errUnsupported }
