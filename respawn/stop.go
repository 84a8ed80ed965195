package respawn

import (
	"errors"
	"os/exec"
	"syscall"
	"time"
)

// DefaultStopTimeout is the stop timeout when --stop-timeout is not
// given. It is under the 10 s that docker stop, podman stop and
// Kubernetes give a container before they SIGKILL its PID 1, so that as
// PID 1 respawn kills what is left itself, says which server it killed,
// and exits with its own status instead of being killed mid-stop.
const DefaultStopTimeout = 9 * time.Second

// runtimeGrace is how long container runtimes wait by default between
// the stop signal to PID 1 and SIGKILL.
const runtimeGrace = 10 * time.Second

// Exit statuses with --exit-when-buried, as tini and shells use them: a
// buried server's program was not found, or was found but could not be
// executed. Servers buried for dying too fast make ExitUnclean.
const (
	ExitCannotExecute = 126
	ExitNotFound      = 127
)

// stopTimeoutOf is how long r has between its stop signal and SIGKILL:
// its own --stop-timeout, or the global one. StopAtOnce (negative): no
// stop signal, SIGKILL at once.
func (s *Supervisor) stopTimeoutOf(r *Server) time.Duration {
	if r.Set.StopTimeout != 0 {
		return r.Set.StopTimeout
	}
	return s.cfg.StopTimeout
}

// stopSignalOf is the signal that stops r: its own --stop-signal, or
// global, the one the whole supervisor is stopping with (SIGTERM, or
// SIGQUIT passed on from a container runtime).
func stopSignalOf(r *Server, global syscall.Signal) syscall.Signal {
	if r.Set.StopSignal != 0 {
		return r.Set.StopSignal
	}
	return global
}

// endedClean reports whether r's last ending counts as clean for the
// exit status: mds-respawn's clean endings, or death by the very signal
// respawn sent to stop it (nginx's SIGQUIT, say).
func (r *Server) endedClean() bool {
	return r.Last.Clean() || r.Last.Set && r.Last.Err == "" && r.Last.Signal != 0 && r.Last.Signal == r.stopSig
}

// stopDeadlines are the SIGKILL deadlines of servers being stopped, and
// of the shutdown as a whole (sweepNs: SIGKILL to whatever is left, then
// giving up). One timer of the loop is armed for the earliest of them,
// never one per server. A record is in kills at most once: exactly while
// its killNs is set; one whose process has ended leaves the list when
// the timer next fires.
type stopDeadlines struct {
	kills   []*Server
	sweepNs int64 // CLOCK_MONOTONIC of the shutdown's last step; 0: none
	timer   *time.Timer
	at      int64 // what the timer is armed for, while stopC is set
}

// armKill sets r's SIGKILL deadline to at (CLOCK_MONOTONIC, ns) for its
// current process, unless an earlier one is already set for it.
func (s *Supervisor) armKill(r *Server, at int64) {
	if r.killNs != 0 && r.killPid == r.Pid && r.killNs <= at {
		return
	}
	if r.killNs == 0 {
		s.stops.kills = append(s.stops.kills, r)
	}
	r.killNs, r.killPid = at, r.Pid
	s.armStopAt(at)
}

// armSweep sets the shutdown's last step for at.
func (s *Supervisor) armSweep(at int64) {
	s.stops.sweepNs = at
	s.armStopAt(at)
}

// armStopAt makes sure the stop timer fires by at.
func (s *Supervisor) armStopAt(at int64) {
	if s.stopC != nil && s.stops.at <= at {
		return
	}
	s.stopC, s.stops.at = armAt(&s.stops.timer, at), at
}

// pendingKill is r's SIGKILL deadline for its current process, as a live
// upgrade carries it, or 0.
func (r *Server) pendingKill() int64 {
	if r.killNs == 0 || r.State != Alive || r.Pid != r.killPid {
		return 0
	}
	return r.killNs
}

// resumeKills arms the SIGKILL deadlines a live upgrade carried, for the
// servers an operator was stopping: only an operator's stop can be under
// way, as a shutdown cancels the upgrade. Their stop signal is the one
// terminate sent.
func (s *Supervisor) resumeKills() {
	for _, r := range s.recs {
		if at := r.carriedKill; at != 0 && r.task == nil && r.State == Alive {
			r.stopSig = stopSignalOf(r, syscall.SIGTERM)
			s.armKill(r, at)
		}
		r.carriedKill = 0
	}
}

// dueKills takes the records whose deadline has passed out of the list
// and returns them, with the earliest deadline still ahead (0: none).
// Records whose process has ended since are dropped.
func (s *Supervisor) dueKills(now int64) (due []*Server, next int64) {
	keep := s.stops.kills[:0]
	for _, r := range s.stops.kills {
		switch {
		case r.State != Alive || r.Pid != r.killPid:
			r.killNs = 0
		case r.killNs <= now:
			r.killNs = 0
			due = append(due, r)
		default:
			keep = append(keep, r)
			if next == 0 || r.killNs < next {
				next = r.killNs
			}
		}
	}
	clear(s.stops.kills[len(keep):])
	s.stops.kills = keep
	return due, next
}

// nothingCanRun reports whether every server is BURIED or CREMATED and
// at least one is BURIED: --exit-when-buried's condition. Tasks do not
// count.
func (s *Supervisor) nothingCanRun() bool {
	buried := false
	for _, r := range s.recs {
		switch {
		case r.task != nil:
		case r.State == Buried:
			buried = true
		case r.State != Cremated:
			return false
		}
	}
	return buried
}

// exitBuried ends supervision because nothing can run any more. The
// exit status is the most telling of the burials: ExitNotFound if some
// program was not found, ExitCannotExecute if some could not be
// executed, ExitUnclean when every buried server died too fast.
func (s *Supervisor) exitBuried() {
	var names []string
	for _, r := range s.recs {
		if r.task == nil && r.State == Buried {
			s.buriedStatus = max(s.buriedStatus, r.buriedStatus())
			names = append(names, r.Name)
		}
	}
	s.log.Error("nothing left that can run: exiting (--exit-when-buried)", "buried", names, "status", s.buriedStatus)
	s.shutdown(nil)
}

// buriedStatus is the exit status a burial of r stands for.
func (r *Server) buriedStatus() int {
	switch {
	case errors.Is(r.spawnErr, syscall.ENOENT), errors.Is(r.spawnErr, exec.ErrNotFound):
		return ExitNotFound
	case errors.Is(r.spawnErr, syscall.EACCES), errors.Is(r.spawnErr, syscall.ENOEXEC),
		errors.Is(r.spawnErr, syscall.EPERM), errors.Is(r.spawnErr, syscall.EISDIR):
		return ExitCannotExecute
	}
	return ExitUnclean
}

// warnStopGrace warns, when respawn is PID 1, about the servers whose
// stop timeout is not under a container runtime's default grace: the
// runtime's SIGKILL to PID 1 would end them, and respawn, first.
func (s *Supervisor) warnStopGrace() {
	if !s.pid1 {
		return
	}
	var names []string
	for _, r := range s.recs {
		if r.task == nil && s.stopTimeoutOf(r) >= runtimeGrace {
			names = append(names, r.Name)
		}
	}
	if len(names) > 0 {
		s.log.Warn("stop timeout not under the container runtime's default 10s grace: give the runtime more (podman stop --time, docker stop --time, terminationGracePeriodSeconds)",
			"servers", names)
	}
}
