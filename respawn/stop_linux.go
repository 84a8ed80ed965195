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
// LeaveRunning is set, every live server is stopped its own way (see
// stopServer): sig (SIGTERM, or SIGQUIT for a container's stop signal)
// goes to the servers without a --stop-signal of their own, and to every
// other child of ours, each followed by SIGCONT. Whatever is left when
// the longest stop timeout has passed is killed; then after giveUpAfter
// supervision ends anyway. A second shutdown signal kills at once.
func (s *Supervisor) shutdown(sig os.Signal) {
	if s.stopping {
		if sig != nil && !s.killed {
			s.log.Warn("second shutdown signal: killing what is left")
			s.killEveryone()
		}
		return
	}
	s.stopping = true
	s.systemdStopping()
	s.cancel()
	s.cancelUpgrade()
	if s.cfg.LeaveRunning {
		s.log.Info("leaving servers running", "alive", s.countState(Alive))
		return
	}
	global, _ := sig.(syscall.Signal)
	if global == 0 {
		global = unix.SIGTERM
	}
	// Listed first: a child a server leaves as it stops is not one of
	// them, or a --kill-mode=pid server's children would hear it.
	kids := childrenOf(os.Getpid())
	longest := s.stopServers(global)
	s.stopOthers(kids, global)
	if longest < 0 {
		s.killEveryone()
	} else {
		s.armSweep(monotonicNs() + int64(longest))
	}
	s.reap()
}

// stopServers stops every live server and returns the longest stop
// timeout among them and the global one (negative: no grace at all).
func (s *Supervisor) stopServers(global syscall.Signal) time.Duration {
	longest := s.cfg.StopTimeout
	for _, r := range s.recs {
		if r.task == nil && r.State == Alive {
			longest = max(longest, s.stopServer(r, global))
		}
	}
	return longest
}

// stopOthers sends sig and SIGCONT (or SIGKILL, without a global stop
// timeout) to the children of ours in kids that are not a live server's
// process: orphans, and servers started before an upgrade whose record
// is gone.
func (s *Supervisor) stopOthers(kids []int, sig syscall.Signal) {
	if s.cfg.StopTimeout < 0 {
		s.signalOthers(kids, unix.SIGKILL)
		return
	}
	s.signalOthers(kids, sig)
	s.signalOthers(kids, unix.SIGCONT)
}

// terminate asks one server or task to stop: a server gets its stop
// signal (SIGTERM unless it has its own), then SIGCONT, and SIGKILL when
// its stop timeout has passed; a task has its context cancelled.
func (s *Supervisor) terminate(r *Server) {
	if r.task != nil {
		r.cancel()
		return
	}
	if r.State == Alive {
		s.stopServer(r, unix.SIGTERM)
	}
}

// stopServer sends live server r its stop signal then SIGCONT, so that a
// stopped server still hears it, to whom its kill mode says, and arms its
// SIGKILL deadline; with a stop timeout of StopAtOnce it is SIGKILLed at
// once instead. It returns r's stop timeout.
func (s *Supervisor) stopServer(r *Server, global syscall.Signal) time.Duration {
	d := s.stopTimeoutOf(r)
	if d < 0 {
		r.stopSig = 0 // a SIGKILL is never a clean end
		_ = r.killTarget(unix.SIGKILL)
		return d
	}
	r.stopSig = stopSignalOf(r, global)
	_ = r.stopTarget(r.stopSig)
	_ = r.stopTarget(unix.SIGCONT)
	s.armKill(r, monotonicNs()+int64(d))
	return d
}

// stopTarget sends sig to whom r's stop signal goes: its process group,
// or with --kill-mode=pid or mixed its main process only.
func (r *Server) stopTarget(sig syscall.Signal) error {
	if r.Set.KillMode == KillGroup {
		return r.kill(sig)
	}
	return r.killPidOnly(sig)
}

// killTarget sends sig (SIGKILL) to whom r's stop timeout kills: its
// process group, or with --kill-mode=pid its main process only.
func (r *Server) killTarget(sig syscall.Signal) error {
	if r.Set.KillMode == KillPid {
		return r.killPidOnly(sig)
	}
	return r.kill(sig)
}

func (r *Server) killPidOnly(sig syscall.Signal) error {
	if r.task != nil || r.State != Alive || r.Pid <= 1 {
		return unix.ESRCH
	}
	return unix.Kill(r.Pid, sig)
}

// onStopDeadline handles the stop timer: it SIGKILLs each server whose
// stop timeout has passed, with a log line naming it, then, when the
// shutdown's own deadline has come, everything that is left.
func (s *Supervisor) onStopDeadline() {
	s.stopC = nil
	now := monotonicNs()
	due, next := s.dueKills(now)
	for _, r := range due {
		s.log.Warn("stop timeout passed: killing", "server", r.Index, "name", r.Name, "pid", r.Pid,
			"stop_signal", signalName(r.stopSig), "timeout", s.stopTimeoutOf(r).String())
		_ = r.killTarget(unix.SIGKILL)
	}
	if sw := s.stops.sweepNs; sw != 0 && sw <= now {
		s.killEveryone()
	}
	if next != 0 {
		s.armStopAt(next)
	}
	if s.stops.sweepNs > now {
		s.armStopAt(s.stops.sweepNs)
	}
}

// killEveryone kills everything still there; after a further grace
// period it gives up waiting.
func (s *Supervisor) killEveryone() {
	if s.killed {
		s.log.Error("giving up on processes that do not die", "children", len(childrenOf(os.Getpid())))
		s.noChildren, s.stops.sweepNs = true, 0
		for _, r := range s.recs {
			if r.task != nil && r.State == Alive {
				s.enter(r, Cremated, Exit{Err: "did not stop", Set: true})
			}
		}
		return
	}
	s.killed = true
	s.signalEveryone(unix.SIGKILL)
	s.armSweep(monotonicNs() + int64(giveUpAfter))
}

// signalEveryone sends sig to the process group of every live server and
// to every other child of ours (see signalOthers).
func (s *Supervisor) signalEveryone(sig syscall.Signal) {
	for _, r := range s.recs {
		_ = r.kill(sig)
	}
	s.signalOthers(childrenOf(os.Getpid()), sig)
}

// signalOthers sends sig to every child of ours in kids that is not a
// live server's main process: to its group if it leads one (a server respawn
// started before an upgrade, or one whose record is gone), to the child
// alone otherwise, and never twice to a group nor to the group of a live
// server that hears its stop signal as a group. No other group is
// signalled, and never respawn's own, 0 or 1.
func (s *Supervisor) signalOthers(kids []int, sig syscall.Signal) {
	own, _ := unix.Getpgid(0)
	sent := map[int]bool{}
	for _, r := range s.recs {
		if pg, ok := r.group(); ok && r.Set.KillMode == KillGroup {
			sent[pg] = true
		}
	}
	for _, pid := range kids {
		if r := s.byPid[pid]; r != nil && r.State == Alive {
			continue
		}
		pg, err := unix.Getpgid(pid)
		switch {
		case err == nil && pg == pid:
			if !sent[pg] && pg > 1 && pg != own {
				sent[pg] = true
				_ = unix.Kill(-pg, sig)
			}
		case err != nil || !sent[pg]:
			_ = unix.Kill(pid, sig)
		}
	}
}
