//go:build linux

package respawn

import (
	"os"
	"os/signal"
	"sync"

	"golang.org/x/sys/unix"
)

// startup guards the start-up phase under --alarm: the process groups
// spawned so far, so that an abort can take them down with it. mu is held
// by every spawn from before its fork until its pid is recorded, and by
// the abort from its first kill until the process exits, so no child of
// the start-up escapes the abort.
type startup struct {
	mu     sync.Mutex
	armed  bool
	groups []int
	sigs   chan os.Signal
	done   chan struct{}
}

// armAlarm sets ITIMER_REAL to Config.Alarm; SIGALRM before disarm aborts
// the supervisor. The timer is per process and is not inherited by
// children (fork clears it), so servers never see it.
func (s *Supervisor) armAlarm() *startup {
	st := &startup{}
	if s.cfg.Alarm <= 0 {
		return st
	}
	st.armed = true
	st.sigs = make(chan os.Signal, 1)
	st.done = make(chan struct{})
	s.alarm = st
	signal.Notify(st.sigs, unix.SIGALRM)
	go st.wait(s)
	it := unix.Itimerval{Value: unix.NsecToTimeval(s.cfg.Alarm.Nanoseconds())}
	if _, err := unix.Setitimer(unix.ItimerReal, it); err != nil {
		s.log.Warn("respawn: --alarm not armed", "err", os.NewSyscallError("setitimer", err))
	}
	return st
}

// wait aborts on SIGALRM: it runs on its own goroutine because the event
// loop may be the thing that hangs.
func (st *startup) wait(s *Supervisor) {
	select {
	case <-st.sigs:
	case <-st.done:
		return
	}
	st.mu.Lock()
	if !st.armed {
		st.mu.Unlock()
		return
	}
	for _, pg := range st.groups {
		_ = unix.Kill(-pg, unix.SIGKILL)
	}
	s.log.Error("respawn: start-up did not finish within --alarm, aborting", "alarm", s.cfg.Alarm.String(), "spawned", len(st.groups))
	os.Exit(ExitAborted)
}

// disarm ends the start-up phase: the timer is cleared and SIGALRM no
// longer aborts.
func (s *Supervisor) disarm(st *startup) {
	if st.done == nil {
		return
	}
	st.mu.Lock()
	st.armed = false
	st.groups = nil
	s.alarm = nil
	st.mu.Unlock()
	_, _ = unix.Setitimer(unix.ItimerReal, unix.Itimerval{})
	signal.Stop(st.sigs)
	close(st.done)
}

// startupGroup records a process group spawned during start-up; spawn
// holds the lock.
func (s *Supervisor) startupGroup(pg int) {
	if st := s.alarm; st != nil && st.armed {
		st.groups = append(st.groups, pg)
	}
}
