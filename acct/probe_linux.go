//go:build linux

package acct

import (
	"errors"
	"fmt"
	"syscall"
)

// ProbeExit makes one process end at once and returns once it has ended:
// a fork whose exec fails (syscall.ForkExec of a directory: the child
// exits at once and ForkExec reaps it, unless the caller's own reaper was
// quicker), so it needs no program on disk. ForkExec gives no pid for a
// failed exec: its record is known by AFORK and a PPid of os.Getpid().
// Start skips the source up to and including that record.
func ProbeExit() error {
	_, err := syscall.ForkExec("/", []string{"/"}, &syscall.ProcAttr{})
	if err == nil {
		return errors.New("acct: the probe's exec of / succeeded")
	}
	if errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EISDIR) || errors.Is(err, syscall.ECHILD) {
		return nil
	}
	return fmt.Errorf("acct: probe process: %w", err)
}
