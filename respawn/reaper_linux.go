//go:build linux

package respawn

import (
	"errors"
	"syscall"

	"golang.org/x/sys/unix"
)

// reap collects children that have ended, in a loop until wait4 says no
// more (0), there are no children (ECHILD), or reapBatch were collected;
// then reapMore tells the loop to come back for the rest. It is the only
// place that waits for processes. Children we did not start (orphans
// adopted as a subreaper or as PID 1) are collected and logged.
func (s *Supervisor) reap() {
	s.readNotify() // a MAINPID= before the death it explains
	s.reapMore = false
	for n := 0; n < reapBatch; {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		s.noChildren = errors.Is(err, unix.ECHILD)
		if err != nil || pid <= 0 {
			return
		}
		n++
		r := s.byPid[pid]
		if r == nil && s.preflightReaped(pid, syscall.WaitStatus(ws)) {
			continue
		}
		if r == nil {
			s.log.Debug("reaped orphan", "pid", pid, "status", exitOf(syscall.WaitStatus(ws)).String())
			continue
		}
		delete(s.byPid, pid)
		if pid != r.Pid && !s.formerExited(r, pid) {
			continue
		}
		s.onProcessExit(r, exitOf(syscall.WaitStatus(ws)))
		s.keepalives()
	}
	s.reapMore = true
}

// moreC is ready while the last reap left exits to collect.
func (s *Supervisor) moreC() <-chan struct{} {
	if s.reapMore {
		return ready
	}
	return nil
}

func (s *Supervisor) onProcessExit(r *Server, x Exit) {
	if r.State != Alive {
		return
	}
	s.fire(r, s.classify(r, x, monotonicNs()), x)
}
