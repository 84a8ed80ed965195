//go:build linux

package respawn

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// kill sends sig to r's own process group, or to its pid alone if it has
// no group of its own (see group). A record with no live process is
// ESRCH.
func (r *Server) kill(sig syscall.Signal) error {
	if pg, ok := r.group(); ok {
		return unix.Kill(-pg, sig)
	}
	if r.task != nil || r.State != Alive || r.Pid <= 1 {
		return unix.ESRCH
	}
	return unix.Kill(r.Pid, sig)
}
