//go:build linux

package respawn

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// setup prepares the process for supervision, before the first spawn:
// stdio open, child subreaper (unless PID 1, which reaps anyway), and the
// signals routed to the event loop.
func (s *Supervisor) setup() error {
	if err := openStdio(); err != nil {
		return err
	}
	s.env = s.openSystemd(os.Environ()) // servers do not see NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID
	s.pid1 = os.Getpid() == 1
	if !s.pid1 {
		if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("respawn: PR_SET_CHILD_SUBREAPER: %w", os.NewSyscallError("prctl", err))
		}
	}
	s.route()
	routeIgnored()
	defaultUnrouted()
	return nil
}

// route sends every handled signal to its channel.
func (s *Supervisor) route() {
	for _, rt := range s.sig.routes() {
		signal.Notify(rt.c, rt.sigs...)
	}
}

// openStdio makes sure descriptors 0, 1 and 2 are open (on /dev/null if
// not), so that every server gets a valid stdin, stdout and stderr; a
// container's PID 1 may be started without them.
func openStdio() error {
	for fd := 0; fd <= 2; fd++ {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil {
			continue
		}
		nfd, err := unix.Open("/dev/null", unix.O_RDWR, 0)
		if err != nil {
			return fmt.Errorf("respawn: open /dev/null: %w", os.NewSyscallError("open", err))
		}
		if nfd != fd {
			if err := unix.Dup2(nfd, fd); err != nil {
				return fmt.Errorf("respawn: stdio: %w", os.NewSyscallError("dup2", err))
			}
			unix.Close(nfd)
		}
	}
	return nil
}

// onSignal is the event loop's handling of one signal.
func (s *Supervisor) onSignal(sig os.Signal) {
	switch sig {
	case unix.SIGCHLD:
		s.reap()
	case unix.SIGUSR1:
		if testHang != nil {
			testHang(s)
		}
		s.writeDump()
	case unix.SIGUSR2:
		s.reviveAll()
	case unix.SIGHUP:
		s.onUpgradeSignal()
	case unix.SIGTERM, unix.SIGINT:
		s.log.Info("shutting down", "signal", sig.String())
		s.shutdown(unix.SIGTERM)
	case unix.SIGQUIT:
		// A container's stop signal for servers that stop gracefully on
		// SIGQUIT (nginx): pass it on, then stop as for SIGTERM.
		s.log.Info("shutting down", "signal", sig.String())
		s.shutdown(unix.SIGQUIT)
	case unix.SIGWINCH:
		s.forward(unix.SIGWINCH)
	case unix.SIGPIPE:
		// Whoever read our stdout or stderr is gone: logs are lost,
		// supervision goes on.
	}
}

// forward sends sig to the process group of every live server (its pid
// alone if it has no group of its own).
func (s *Supervisor) forward(sig syscall.Signal) {
	for _, r := range s.recs {
		if r.State == Alive && r.task == nil {
			_ = r.kill(sig)
		}
	}
}

// Signal sends sig to r's process group. It is for operators' requests.
func (s *Supervisor) signalGroup(r *Server, sig syscall.Signal) error {
	if r.State != Alive || r.task != nil || r.Pid <= 1 {
		return fmt.Errorf("respawn: %s is not a running server", r.Name)
	}
	if err := r.kill(sig); err != nil {
		return os.NewSyscallError("kill", err)
	}
	return nil
}
