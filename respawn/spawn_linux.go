//go:build linux

package respawn

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// stdio is what every server inherits: the supervisor's stdin, stdout and
// stderr, which setup makes sure are open.
var stdio = []uintptr{0, 1, 2}

// spawn forks and execs r's command line in a new process group. An exec
// failure (missing or not executable program) is returned here, by
// ForkExec's error pipe, not guessed later from an exit code. The program
// is looked up in $PATH at the first start and whenever it can no longer
// be executed at the path found; a file replaced there is simply run.
func (s *Supervisor) spawn(r *Server) error {
	if st := s.alarm; st != nil {
		st.spawnBegin()
		defer st.spawnEnd()
	}
	files, release := s.stdioOf(r)
	defer release()
	attr := syscall.ProcAttr{
		Env:   s.env,
		Files: files,
		Sys:   &syscall.SysProcAttr{Setpgid: true},
	}
	if r.Set.hasSettings() {
		if err := applySettings(r, s.env, &attr); err != nil {
			return err
		}
	}
	attr.Env = s.notifyEnv(r, attr.Env, !r.Set.hasEnv())
	if r.path != "" {
		pid, err := start(r, r.path, &attr)
		if err == nil {
			return s.spawned(r, pid)
		}
		if transient(err) {
			return fmt.Errorf("respawn: cannot start %s: %w", r.path, err)
		}
		r.path = "" // gone or changed there: look again
	}
	path, err := lookPath(r, attr.Env)
	if err != nil {
		var ee *exec.Error
		if errors.As(err, &ee) {
			err = ee.Err
		}
		return fmt.Errorf("respawn: cannot execute %s: %w", r.Argv[0], err)
	}
	pid, err := start(r, path, &attr)
	if transient(err) {
		return fmt.Errorf("respawn: cannot start %s: %w", path, err)
	}
	if err != nil {
		return fmt.Errorf("respawn: cannot execute %s: %w", path, err)
	}
	r.path = path
	return s.spawned(r, pid)
}

// start forks and execs path for r: with its settings when it has any.
func start(r *Server, path string, attr *syscall.ProcAttr) (int, error) {
	if r.Set.hasSettings() {
		return startWith(r, path, attr)
	}
	return forkExec(path, r.Argv, attr)
}

// spawned records the new process pid of r.
func (s *Supervisor) spawned(r *Server, pid int) error {
	r.Pid, r.Pgid, r.procStart = pid, pid, 0
	if !r.listed { // once: a crash-looper must not grow the list
		r.listed = true
		s.unstamped = append(s.unstamped, r)
	}
	r.StartNs, r.StartRT = monotonicNs(), realtimeNs()
	s.byPid[pid] = r
	s.armWatchdog(r)
	s.startupGroup(pid)
	return nil
}

// forkExec is syscall.ForkExec from a thread whose signal mask is empty,
// so that the child starts with an empty mask whatever this process's was.
// Go's fork copies the forking thread's mask into the child, and after a
// live upgrade every thread but the runtime's signal thread keeps the mask
// blocked across execve (SIGCHLD, SIGUSR1, SIGUSR2, SIGWINCH). Unblocking
// here is safe: the runtime's handlers are installed, so a signal this
// lets in is delivered and routed like any other. Dispositions are the
// runtime's business: it resets its own handlers to SIG_DFL in the child,
// and routeIgnored leaves no inherited SIG_IGN for the child to keep.
func forkExec(path string, argv []string, attr *syscall.ProcAttr) (int, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var empty, old unix.Sigset_t
	if err := unix.PthreadSigmask(unix.SIG_SETMASK, &empty, &old); err != nil {
		return 0, os.NewSyscallError("rt_sigprocmask", err)
	}
	defer unix.PthreadSigmask(unix.SIG_SETMASK, &old, nil)
	return syscall.ForkExec(path, argv, attr)
}
