//go:build linux

package respawn

import (
	"errors"
	"os"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"respawn/notify"
)

// notifyOpen opens the sd_notify socket, or adopts the one a live
// upgrade kept, and starts its waiter. Without it (the kernel refused)
// servers run without NOTIFY_SOCKET, which is said once; respawn's own
// NOTIFY_SOCKET, systemd's, is never passed on to a server either way.
func (s *Supervisor) notifyOpen() {
	n := s.notify
	if n == nil {
		n = &notifier{inherited: -1}
		s.notify = n
	}
	c, adopted, err := n.open()
	if err != nil {
		s.log.Warn("notify: no sd_notify socket: servers run without NOTIFY_SOCKET", "err", err)
		return
	}
	n.conn, n.addr, n.self = c, c.Addr(), os.Getpid()
	n.wake, n.drained = make(chan struct{}), make(chan struct{}, 1)
	s.KeepFD(notify.Role, c.FD())
	s.log.Debug("notify: listening", "socket", c.Addr(), "inherited", adopted)
	s.armCarriedWatchdogs()
	go n.wait(s.ctx.Done())
}

// open adopts the kept socket, or opens one.
func (n *notifier) open() (*notify.Conn, bool, error) {
	if fd := n.inherited; fd >= 0 {
		n.inherited = -1
		c, err := notify.Adopt(fd)
		if err == nil {
			return c, true, nil
		}
		unix.Close(fd)
	}
	c, err := notify.Listen()
	return c, false, err
}

// wait is the waiter goroutine: it tells the loop that a datagram is
// there, then waits for the loop to have read every one, until done.
func (n *notifier) wait(done <-chan struct{}) {
	for {
		if err := n.conn.Wait(); err != nil {
			return
		}
		select {
		case n.wake <- struct{}{}:
		case <-done:
			return
		}
		select {
		case <-n.drained:
		case <-done:
			return
		}
	}
}

// notifyWake is the loop's case for the socket: the waiter's wake, or
// ready while a batch of datagrams is still to be read.
func (s *Supervisor) notifyWake() <-chan struct{} {
	switch n := s.notify; {
	case n == nil || n.conn == nil:
		return nil
	case n.pending:
		return ready
	default:
		return n.wake
	}
}

// onNotifyWake reads a batch of datagrams; once none is left it answers
// the waiter.
func (s *Supervisor) onNotifyWake() {
	n := s.notify
	n.pending = true
	if s.readNotify() {
		n.pending = false
		n.drained <- struct{}{}
	}
}

// readNotify reads and handles at most reapBatch datagrams, and reports
// whether the socket is empty. It is called before each reap too, so that
// a MAINPID= sent just before the sender exits is taken before its death
// (systemd reads its notify socket before SIGCHLD for the same reason).
func (s *Supervisor) readNotify() bool {
	n := s.notify
	if n == nil || n.conn == nil {
		return true
	}
	for i := 0; i < reapBatch; i++ {
		d, ok, err := n.conn.Receive()
		if err != nil || !ok {
			return true
		}
		s.onDatagram(&d)
		d.Close()
	}
	return false
}

// onDatagram handles one datagram: from a server's process it is
// applied; anything else is counted as refused. Only a server's refused
// message is a warning: any local process may write to the socket, and
// must not fill the log.
func (s *Supervisor) onDatagram(d *notify.Datagram) {
	n := s.notify
	m, err := notify.Parse(d.Data)
	err = errors.Join(err, truncated(d.Truncated))
	r := s.sender(d)
	switch {
	case r == nil:
		n.refused++
		s.log.Debug("notify: message from no server's process, ignored", "sender", d.Pid, "uid", d.UID, "message", m.String(), "err", err)
		return
	case err != nil:
		n.refused++
		s.log.Warn("notify: message refused", append(r.logID(), "sender", d.Pid, "bytes", len(d.Data), "err", err)...)
		return
	}
	n.received++
	if len(m.Invalid) > 0 {
		s.log.Warn("notify: invalid values ignored", append(r.logID(), "sender", d.Pid, "keys", m.Invalid)...)
	}
	s.applyNotify(r, d, &m)
}

func truncated(t bool) error {
	if t {
		return notify.ErrTooLong
	}
	return nil
}

// sender is the live server whose process sent d, or nil: d's pid must be
// the server's process, in its process group, or a descendant of it
// (bounded walk up the parents), and still the sender once /proc has
// been read (see notify.Datagram.SamePid). A server's own process needs
// neither: it is respawn's child, and its pid cannot be reused before
// respawn reaps it, which takes it out of byPid.
func (s *Supervisor) sender(d *notify.Datagram) *Server {
	pid := d.Pid
	if pid <= 1 || pid == s.notify.self {
		return nil
	}
	if r := s.byPid[pid]; r != nil && r.task == nil && r.State == Alive {
		return r
	}
	r := s.serverOf(pid)
	if r == nil || !d.SamePid() {
		return nil
	}
	return r
}

// serverOf is the live server that pid is, belongs to by process group,
// or descends from; nil if none.
func (s *Supervisor) serverOf(pid int) *Server {
	if r := s.byPid[pid]; r != nil && r.task == nil && r.State == Alive {
		return r
	}
	st, err := ReadStat(pid)
	if err != nil {
		return nil
	}
	if r := s.byPid[st.Pgrp]; r != nil && r.task == nil && r.State == Alive && r.Pgid == st.Pgrp {
		return r
	}
	self := s.notify.self
	for ppid, i := st.PPid, 0; ppid > 1 && ppid != self && i < maxAncestors; i++ {
		if r := s.byPid[ppid]; r != nil && r.task == nil && r.State == Alive {
			return r
		}
		up, err := ReadStat(ppid)
		if err != nil {
			return nil
		}
		ppid = up.PPid
	}
	return nil
}

// applyNotify applies message m of server r.
func (s *Supervisor) applyNotify(r *Server, d *notify.Datagram, m *notify.Message) {
	s.view = nil
	if m.MainPID != 0 {
		s.mainPid(r, d, m.MainPID)
	}
	if m.StatusSet {
		r.sd.status = m.Status
	}
	if m.WatchdogUsec != 0 {
		s.watchdogTimeout(r, time.Duration(m.WatchdogUsec)*time.Microsecond)
	}
	if (m.Watchdog || m.Ready && !r.sd.ready) && r.sd.dogTimeout > 0 && !r.sd.dogFired {
		r.sd.dogNs = monotonicNs() + int64(r.sd.dogTimeout)
		s.armNotifyAt(r.sd.dogNs) // READY=1 may bring it closer: start-up is over
	}
	if m.Ready && !r.sd.ready {
		r.sd.ready = true
		s.log.Info("ready", append(r.logID(), "pid", r.Pid, "sender", d.Pid)...)
	}
	if m.Reloading || m.Stopping || m.ErrnoSet {
		s.log.Info("notify", append(r.logID(), "sender", d.Pid, "message", m.String())...)
	}
	if m.WatchdogTrigger && !r.sd.dogFired {
		r.sd.dogNs, r.sd.dogFired = 0, true
		s.log.Warn("watchdog: WATCHDOG=trigger: SIGABRT", append(r.logID(), "pid", r.Pid)...)
		s.abort(r)
	}
	s.checkGate()
}

// watchdogTimeout is WATCHDOG_USEC= from the server: its timeout from now
// on, as systemd's sd_notify(3) defines it; the deadline restarts.
func (s *Supervisor) watchdogTimeout(r *Server, d time.Duration) {
	if r.sd.dogFired {
		return
	}
	r.sd.dogTimeout = d
	r.sd.dogNs = monotonicNs() + int64(d)
	s.armNotifyAt(r.sd.dogNs)
}

// mainPid makes pid r's main process (MAINPID=), if it is r's: r's
// process, one of its group or a descendant, or a process of ours (an
// orphan that a forking server left to respawn, the subreaper) of the
// sender's uid that is no other record's. Its death is then r's.
func (s *Supervisor) mainPid(r *Server, d *notify.Datagram, pid int) {
	if pid == r.Pid {
		return
	}
	st, err := ReadStat(pid)
	if err != nil || st.State == 'Z' || s.byPid[pid] != nil || (s.serverOf(pid) != r && !s.orphanOf(pid, st, d.UID)) {
		s.log.Warn("notify: MAINPID refused: not a process of the server's", append(r.logID(), "mainpid", pid, "sender", d.Pid)...)
		return
	}
	s.log.Info("main pid changed (MAINPID=)", append(r.logID(), "pid", pid, "was", r.Pid)...)
	delete(s.byPid, r.Pid)
	if st.PPid != s.notify.self && r.sd.former == 0 {
		r.sd.former = r.Pid // still reaped here: see formerExited
		s.byPid[r.Pid] = r
	}
	s.byPid[pid] = r
	r.Pid, r.Pgid, r.procStart, r.sd.forked = pid, st.Pgrp, st.StartTime, true
}

// orphanOf reports whether pid, with stat st, is a child of respawn's
// that the sender's uid owns (or the sender is root).
func (s *Supervisor) orphanOf(pid int, st Stat, uid uint32) bool {
	if st.PPid != s.notify.self {
		return false
	}
	fi, err := os.Stat("/proc/" + strconv.Itoa(pid))
	if err != nil {
		return false
	}
	owner := fi.Sys().(*syscall.Stat_t).Uid
	return uid == 0 || owner == uid
}

// abort sends SIGABRT to r's main process and arms SIGKILL for its stop
// timeout, for a watchdog that fired.
func (s *Supervisor) abort(r *Server) {
	s.view = nil
	_ = r.killPidOnly(unix.SIGABRT)
	if d := s.stopTimeoutOf(r); d > 0 {
		s.armKill(r, monotonicNs()+int64(d))
	} else {
		_ = r.killTarget(unix.SIGKILL)
	}
}

// notifyEnv is the environment of r's new process: env with NOTIFY_SOCKET
// pointing at respawn's socket (or removed, without one), WATCHDOG_USEC
// set for a --watchdog server, and WATCHDOG_PID removed: respawn's own
// (from systemd) are not its servers'. WATCHDOG_PID cannot be set right
// (the pid is not known before the fork); sd_watchdog_enabled(3) takes
// its absence as "this process".
func (s *Supervisor) notifyEnv(r *Server, env []string, plain bool) []string {
	n := s.notify
	if plain && r.Set.Watchdog == 0 && n != nil && n.env != nil {
		return n.env
	}
	out := envWithout(env, notify.SocketEnv, "WATCHDOG_USEC", "WATCHDOG_PID")
	if n != nil && n.addr != "" {
		out = append(out, notify.SocketEnv+"="+n.addr)
	}
	if r.Set.Watchdog > 0 && n != nil && n.addr != "" {
		out = append(out, "WATCHDOG_USEC="+strconv.FormatInt(r.Set.Watchdog.Microseconds(), 10))
	}
	if plain && r.Set.Watchdog == 0 && n != nil {
		n.env = out
	}
	return out
}

// formerExited handles the exit of pid, a process of r's that is no
// longer its main one, and reports whether it is r's death: pid is the
// former main process (sdState.former) and the main process, which
// respawn cannot reap, is gone too (reaped by its parent, respawn never
// told). Otherwise the main process lives on, as a forking server's
// daemon does, and the exit is no death.
func (s *Supervisor) formerExited(r *Server, pid int) bool {
	if pid != r.sd.former {
		return false
	}
	r.sd.former = 0
	if r.State != Alive {
		return false
	}
	st, err := ReadStat(r.Pid)
	if err == nil && st.StartTime == r.procStart {
		return false
	}
	delete(s.byPid, r.Pid)
	return true
}
