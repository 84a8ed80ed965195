//go:build linux

package respawn

import (
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// giveUpAfter is how long shutdown waits after SIGKILL before it exits
// anyway (a process stuck in uninterruptible sleep cannot be collected).
const giveUpAfter = 5 * time.Second

// shutdown starts the end of supervision: tasks are cancelled, and unless
// LeaveRunning is set, sig (SIGTERM, or SIGQUIT for a container's stop
// signal) then SIGCONT goes to every live server's process group and to
// every other child, so that a stopped server still hears it. What is left
// after StopTimeout is killed. A second shutdown signal kills at once.
func (s *Supervisor) shutdown(sig os.Signal) {
	if s.stopping {
		if sig != nil && !s.killed {
			s.log.Warn("second shutdown signal: killing what is left")
			s.onStopDeadline()
		}
		return
	}
	s.stopping = true
	s.cancel()
	s.cancelUpgrade()
	if s.cfg.LeaveRunning {
		s.log.Info("leaving servers running", "alive", s.countState(Alive))
		return
	}
	ssig, _ := sig.(syscall.Signal)
	if ssig == 0 {
		ssig = unix.SIGTERM
	}
	s.signalEveryone(ssig)
	s.signalEveryone(unix.SIGCONT)
	s.armStopTimer(s.cfg.StopTimeout)
	s.reap()
}

// terminate asks one server or task to stop: SIGTERM and SIGCONT to its
// process group, or its context cancelled.
func (s *Supervisor) terminate(r *Server) {
	if r.task != nil {
		r.cancel()
		return
	}
	_ = unix.Kill(-r.Pgid, unix.SIGTERM)
	_ = unix.Kill(-r.Pgid, unix.SIGCONT)
}

// onStopDeadline kills everything still there; after a further grace
// period it gives up waiting.
func (s *Supervisor) onStopDeadline() {
	if s.killed {
		s.log.Error("giving up on processes that do not die", "children", len(childrenOf(os.Getpid())))
		s.noChildren = true
		for _, r := range s.recs {
			if r.task != nil && r.State == Alive {
				s.enter(r, Cremated, Exit{Err: "did not stop", Set: true})
			}
		}
		return
	}
	s.killed = true
	s.signalEveryone(unix.SIGKILL)
	s.armStopTimer(giveUpAfter)
}

// signalEveryone sends sig to the process group of every live server and
// to every other child of ours (and its group, if it has its own).
func (s *Supervisor) signalEveryone(sig syscall.Signal) {
	own, _ := unix.Getpgid(0)
	sent := map[int]bool{own: true, 0: true, 1: true}
	group := func(pg int) {
		if !sent[pg] {
			sent[pg] = true
			_ = unix.Kill(-pg, sig)
		}
	}
	for _, r := range s.recs {
		if r.task == nil && r.State == Alive {
			group(r.Pgid)
		}
	}
	for _, pid := range childrenOf(os.Getpid()) {
		if pg, err := unix.Getpgid(pid); err == nil && pg != own {
			group(pg)
		} else {
			_ = unix.Kill(pid, sig)
		}
	}
}

func (s *Supervisor) armStopTimer(d time.Duration) {
	if s.stopTimer != nil {
		s.stopTimer.Stop()
	}
	s.stopTimer = time.NewTimer(d)
	s.stopC = s.stopTimer.C
}
