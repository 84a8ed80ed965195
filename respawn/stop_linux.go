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
// after StopTimeout is killed; with StopAtOnce, everything is killed at
// once instead. A second shutdown signal kills at once.
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
	if s.cfg.StopTimeout < 0 {
		s.onStopDeadline()
		s.reap()
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
	_ = r.kill(unix.SIGTERM)
	_ = r.kill(unix.SIGCONT)
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
// to every other child of ours: to its group if it leads one (a server
// respawn started before an upgrade, or one whose record is gone), to the
// child alone otherwise. No other group is signalled, and never
// respawn's own, 0 or 1.
func (s *Supervisor) signalEveryone(sig syscall.Signal) {
	own, _ := unix.Getpgid(0)
	sent := map[int]bool{}
	group := func(pg int) {
		if !sent[pg] && pg > 1 && pg != own {
			sent[pg] = true
			_ = unix.Kill(-pg, sig)
		}
	}
	for _, r := range s.recs {
		if pg, ok := r.group(); ok {
			group(pg)
		}
	}
	for _, pid := range childrenOf(os.Getpid()) {
		pg, err := unix.Getpgid(pid)
		switch {
		case err == nil && pg == pid:
			group(pg)
		case err != nil || !sent[pg]:
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
