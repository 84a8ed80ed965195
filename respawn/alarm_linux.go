//go:build linux

package respawn

import (
	"os"
	"os/signal"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// startup guards the start-up phase under --alarm: the process groups
// spawned so far, so that an abort can take them down with it, and the
// spawns under way, so that it does not miss a child forked but not yet
// recorded. A spawn that ends once the abort has begun kills its own group.
type startup struct {
	mu       sync.Mutex
	armed    bool
	aborting bool
	inflight int // spawns begun and not yet ended
	spawned  int // processes forked during start-up, killed or not
	groups   []int
	sigs     chan os.Signal
	done     chan struct{}
}

// abortGrace is how long an abort waits for the spawns under way, which
// may hang (an execve on a dead network mount): after it, every child
// /proc lists is killed instead.
const abortGrace = time.Second

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
	st.aborting = true
	for _, pg := range st.groups {
		_ = unix.Kill(-pg, unix.SIGKILL)
	}
	st.mu.Unlock()
	if !st.settled(abortGrace) {
		for _, pid := range childPids() {
			_ = unix.Kill(-pid, unix.SIGKILL) // its group, if it made one
			_ = unix.Kill(pid, unix.SIGKILL)
		}
	}
	// Counted once the spawns under way have ended: a fork that was
	// under way when SIGALRM came is a server spawned, and killed, too.
	st.mu.Lock()
	spawned := st.spawned
	st.mu.Unlock()
	s.log.Error("respawn: start-up did not finish within --alarm, aborting", "alarm", s.cfg.Alarm.String(), "spawned", spawned)
	s.acctStop()
	if s.cfg.Flush != nil {
		s.cfg.Flush() // os.Exit would not wait for the log writer
	}
	End(ExitAborted, s.cfg.OnExit, s.log, s.cfg.Flush)
}

// settled waits up to d for the spawns under way to end, and reports
// whether they did. It polls: an abort is the one place that waits so.
func (st *startup) settled(d time.Duration) bool {
	for deadline := time.Now().Add(d); ; time.Sleep(time.Millisecond) {
		st.mu.Lock()
		n := st.inflight
		st.mu.Unlock()
		if n == 0 {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// spawnBegin and spawnEnd bracket a spawn during start-up. Once the abort
// has begun no spawn begins: the caller waits for the exit.
func (st *startup) spawnBegin() {
	st.mu.Lock()
	if st.aborting {
		st.mu.Unlock()
		select {}
	}
	st.inflight++
	st.mu.Unlock()
}

func (st *startup) spawnEnd() {
	st.mu.Lock()
	st.inflight--
	st.mu.Unlock()
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

// startupGroup records a process group spawned during start-up, or kills
// it if the abort has begun.
func (s *Supervisor) startupGroup(pg int) {
	st := s.alarm
	if st == nil {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	switch {
	case st.aborting:
		st.spawned++
		_ = unix.Kill(-pg, unix.SIGKILL)
	case st.armed:
		st.spawned++
		st.groups = append(st.groups, pg)
	}
}
