//go:build linux

package respawn

import (
	"fmt"
	"os"
	"syscall"
)

// signalReload sends live server r its reload signal to whom its stop
// signal goes (stopTarget): its process group, or with --kill-mode=pid or
// mixed its main process alone, which passes a reload on to its children
// its own way (gunicorn's workers, say, die of a SIGHUP of their own).
func (s *Supervisor) signalReload(r *Server, sig syscall.Signal) error {
	if r.State != Alive || r.task != nil || r.Pid <= 1 {
		return fmt.Errorf("respawn: %s is not a running server", r.Name)
	}
	if err := r.stopTarget(sig); err != nil {
		return os.NewSyscallError("kill", err)
	}
	return nil
}
