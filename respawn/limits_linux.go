//go:build linux

package respawn

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// Resource limits belong to the whole process, and Go's fork offers no
// step to set them in the child, so a server's limits are set on the child
// itself, at the one moment it has its program but has not run a single
// instruction of it: it asked to be traced (PTRACE_TRACEME, the last step
// of Go's child before execve), so its successful exec stops it with a
// SIGTRAP; respawn sets the limits with prlimit and lets it go.
//
// Setting them on respawn around the fork, the other way, was refused:
// every thread of respawn would live under them meanwhile. Under a low
// --as the Go runtime's next mmap fails, which is fatal to it; under a
// low --nofile the fork's own error pipe gets EMFILE once respawn holds
// more descriptors than that; a non-root respawn could never raise a hard
// limit it lowered; and Go would reset --nofile in the child when it
// happened to equal respawn's own raised limit (origRlimitNofile).
//
// The price of the trace: a respawn itself traced (strace -f), or where
// Yama's ptrace_scope is 3 (or 2 without CAP_SYS_PTRACE), cannot start a
// server with limits: the start fails with EPERM, said so.

// maxTraceStops bounds the signals a stopped child may report before its
// exec's SIGTRAP: each is held and handed over when it is let go.
const maxTraceStops = 64

// setLimits sets limits on pid, stopped (or about to stop) by its traced
// exec, and lets it run. A child that cannot take them is killed and
// reaped here, and the error returned. cred, when not nil, is the child's
// credential and the calling thread is doomed (it ends with its
// goroutine): when respawn may not set the limits of another user's
// process (no CAP_SYS_RESOURCE, as in most containers), the thread takes
// that user's ids, which the kernel accepts instead.
func setLimits(pid int, limits []Limit, cred *syscall.Credential) error {
	held, err := waitExecStop(pid)
	if err != nil {
		return err
	}
	err = prlimitAll(pid, limits)
	if errors.Is(err, unix.EPERM) && cred != nil {
		if err = becomeThread(cred); err == nil {
			err = prlimitAll(pid, limits)
		}
	}
	if err == nil {
		err = ptraceDetach(pid, held)
	}
	if err != nil {
		killTraced(pid)
	}
	return err
}

func prlimitAll(pid int, limits []Limit) error {
	for _, l := range limits {
		lim := unix.Rlimit{Cur: l.Cur, Max: l.Max}
		if err := unix.Prlimit(pid, l.Resource, &lim, nil); err != nil {
			return fmt.Errorf("cannot set the --%s limit: %w", limitName(l.Resource), os.NewSyscallError("prlimit", err))
		}
	}
	return nil
}

// becomeThread gives the calling thread, and only it, the ids of cred:
// raw setresgid and setresuid act on one thread, where Go's Setuid acts on
// all. The caller must be a doomed thread.
func becomeThread(cred *syscall.Credential) error {
	g, u := uintptr(cred.Gid), uintptr(cred.Uid)
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, g, g, g); e != 0 {
		return os.NewSyscallError("setresgid", e)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, u, u, u); e != 0 {
		return os.NewSyscallError("setresuid", e)
	}
	return nil
}

// waitExecStop waits for pid's stop at the SIGTRAP of its exec, and
// returns the last other signal it stopped for (0 if none), which is kept
// from it until it is let go. It blocks only while the kernel ends the
// exec: the child is running towards that stop. A child that ended
// instead (killed meanwhile) is reaped here and reported as an error.
func waitExecStop(pid int) (syscall.Signal, error) {
	var held syscall.Signal
	for i := 0; i < maxTraceStops; i++ {
		var ws unix.WaitStatus
		_, err := unix.Wait4(pid, &ws, 0, nil)
		if errors.Is(err, unix.EINTR) {
			i--
			continue
		}
		if err != nil {
			return 0, os.NewSyscallError("wait4", err)
		}
		if !ws.Stopped() {
			return 0, fmt.Errorf("ended before it ran: %v", exitOf(syscall.WaitStatus(ws)))
		}
		if ws.StopSignal() == unix.SIGTRAP {
			return held, nil
		}
		held = ws.StopSignal()
		if err := unix.PtraceCont(pid, 0); err != nil {
			killTraced(pid)
			return 0, os.NewSyscallError("ptrace", err)
		}
	}
	killTraced(pid)
	return 0, errors.New("the started program did not stop after its exec")
}

// ptraceDetach lets the stopped pid run, delivering sig (0: none). The
// exec's SIGTRAP is dropped.
func ptraceDetach(pid int, sig syscall.Signal) error {
	_, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_DETACH, uintptr(pid), 0, uintptr(sig), 0, 0)
	if e != 0 {
		return os.NewSyscallError("ptrace", e)
	}
	return nil
}

// killTraced kills the traced child pid and reaps it.
func killTraced(pid int) {
	_ = unix.Kill(pid, unix.SIGKILL)
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(pid, &ws, 0, nil)
		if !errors.Is(err, unix.EINTR) {
			return
		}
	}
}
