//go:build linux

package reexec

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Exec replaces the process image with the program at path, started as
// "path --re-exec --state-fd=N args...", where N is a sealed memfd holding
// state. The descriptors in keep, and the memfd, stay open across execve;
// every other descriptor keeps its close-on-exec flag. The signals in
// hold are blocked on the calling thread across execve, so that the kernel
// keeps them pending for the new image instead of losing them.
//
// On success Exec does not return. If it returns, the execve failed and
// everything is as before: the descriptors' flags, the signal mask and
// RLIMIT_NOFILE (which syscall.Exec lowers before execve) are restored.
func Exec(path string, args, env []string, state []byte, keep []int, hold []syscall.Signal) error {
	if len(state) > MaxState {
		return errTooBig
	}
	fd, err := sealedMemfd(state)
	if err != nil {
		return err
	}
	argv := make([]string, 0, len(args)+3)
	argv = append(argv, path, FlagReExec, FlagStateFD+"="+strconv.Itoa(fd))
	argv = append(argv, args...)
	err = execKeeping(path, argv, env, append(keep[:len(keep):len(keep)], fd), hold)
	unix.Close(fd)
	return err
}

// execKeeping runs execve with the close-on-exec flag cleared on keep only.
// syscall.ForkLock is held from clearing to execve and back, so that no
// other goroutine forks a server in between and leaks these descriptors
// into it.
func execKeeping(path string, argv, env []string, keep []int, hold []syscall.Signal) error {
	var rl unix.Rlimit
	rlErr := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl)

	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var set, old unix.Sigset_t
	for _, s := range hold {
		set.Val[(s-1)/64] |= 1 << ((uint(s) - 1) % 64)
	}
	// Blocked on this thread, which becomes the only one at execve.
	if err := unix.PthreadSigmask(unix.SIG_BLOCK, &set, &old); err != nil {
		return fmt.Errorf("reexec: %w", os.NewSyscallError("rt_sigprocmask", err))
	}
	defer unix.PthreadSigmask(unix.SIG_SETMASK, &old, nil)

	syscall.ForkLock.Lock()
	defer syscall.ForkLock.Unlock()
	cleared, err := clearCloexec(keep)
	if err == nil {
		err = os.NewSyscallError("execve", unix.Exec(path, argv, env))
	}
	setCloexec(cleared)
	if rlErr == nil {
		_ = unix.Setrlimit(unix.RLIMIT_NOFILE, &rl)
	}
	return fmt.Errorf("reexec: %s: %w", path, err)
}

// clearCloexec clears FD_CLOEXEC on each descriptor and returns those it
// cleared. On failure it restores them and returns the error.
func clearCloexec(fds []int) ([]int, error) {
	done := make([]int, 0, len(fds))
	for _, fd := range fds {
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		if err == nil {
			_, err = unix.FcntlInt(uintptr(fd), unix.F_SETFD, flags&^unix.FD_CLOEXEC)
		}
		if err != nil {
			setCloexec(done)
			return nil, fmt.Errorf("reexec: descriptor %d: %w", fd, os.NewSyscallError("fcntl", err))
		}
		done = append(done, fd)
	}
	return done, nil
}

func setCloexec(fds []int) {
	for _, fd := range fds {
		unix.CloseOnExec(fd)
	}
}

// sealedMemfd returns a close-on-exec memfd holding b, sealed against any
// change.
func sealedMemfd(b []byte) (int, error) {
	fd, err := unix.MemfdCreate("respawn-state", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return -1, fmt.Errorf("reexec: %w", os.NewSyscallError("memfd_create", err))
	}
	for off := 0; off < len(b); {
		n, err := unix.Pwrite(fd, b[off:], int64(off))
		if err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("reexec: %w", os.NewSyscallError("pwrite", err))
		}
		off += n
	}
	const seals = unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("reexec: %w", os.NewSyscallError("fcntl", err))
	}
	return fd, nil
}

// ReadState reads the snapshot from the memfd fd, at most MaxState bytes,
// and closes fd. It refuses a descriptor that is not a sealed memfd, so
// that a stray --state-fd cannot make the new image read a pipe forever,
// and it closes only a descriptor it has found to be one: a wrong number
// must not close what the process holds there. Descriptors 0 to 2 are
// refused outright and never touched.
func ReadState(fd int) ([]byte, error) {
	if fd < 0 {
		return nil, fmt.Errorf("reexec: no state descriptor (--state-fd=%d)", fd)
	}
	if fd < 3 {
		return nil, fmt.Errorf("reexec: state descriptor %d is stdio, not a snapshot", fd)
	}
	seals, err := unix.FcntlInt(uintptr(fd), unix.F_GET_SEALS, 0)
	if err != nil || seals&unix.F_SEAL_WRITE == 0 || seals&unix.F_SEAL_SHRINK == 0 {
		return nil, fmt.Errorf("reexec: descriptor %d is not a sealed memfd", fd)
	}
	f := os.NewFile(uintptr(fd), "state")
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, fmt.Errorf("reexec: %w", os.NewSyscallError("fstat", err))
	}
	if st.Size > MaxState || st.Size < 0 {
		return nil, errTooBig
	}
	b := make([]byte, st.Size)
	if _, err := f.ReadAt(b, 0); err != nil && err != io.EOF {
		return nil, fmt.Errorf("reexec: %w", err)
	}
	return b, nil
}

// CloseInherited closes every descriptor from 3 up that is not in keep,
// so that nothing the old image left open leaks into the new one or its
// servers. It must run first thing in main, before the program opens
// descriptors of its own; the Go runtime's own (event poll) are spared.
func CloseInherited(keep map[int]bool) []int {
	syscall.ForkLock.Lock() // descriptors opened meanwhile are held back
	defer syscall.ForkLock.Unlock()
	var closed []int
	for fd := range Inherited() {
		if !keep[fd] && unix.Close(fd) == nil {
			closed = append(closed, fd)
		}
	}
	return closed
}

// Inherited is the set of descriptors from 3 up open now, but the Go
// runtime's own (event poll) and the one reading /proc/self/fd. Called
// first thing in main, it is what the old image handed over: a kept
// descriptor a snapshot names that is not among them was never kept, and
// its number may be given to a descriptor of this image's own.
func Inherited() map[int]bool {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return nil
	}
	open := map[int]bool{}
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil || fd < 3 {
			continue
		}
		target, _ := os.Readlink("/proc/self/fd/" + e.Name())
		if target != "" && !isRuntimeFD(target) {
			open[fd] = true
		}
	}
	return open
}

func isRuntimeFD(target string) bool {
	return target == "anon_inode:[eventpoll]" || target == "anon_inode:[eventfd]" ||
		strings.HasPrefix(target, "/proc/") && strings.HasSuffix(target, "/fd")
}

// CloseOnExecInherited sets close-on-exec on every descriptor from 3 up,
// so that whatever respawn inherited (a shell's "exec 7>file", a parent's
// leak, the descriptors a live upgrade kept) never reaches a process it
// starts: servers get descriptors 0, 1 and 2 only, before and after an
// upgrade alike. The process itself keeps them open; a live upgrade clears
// the flag on the ones it keeps, just before execve. It must run first
// thing in main.
func CloseOnExecInherited() {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return
	}
	for _, e := range ents {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd >= 3 {
			unix.CloseOnExec(fd)
		}
	}
}

// SealedState returns a new close-on-exec memfd holding state, sealed
// against any change, for a process that is to read it as ReadState
// does (a live upgrade's pre-flight check). The caller closes it.
func SealedState(state []byte) (int, error) {
	if len(state) > MaxState {
		return -1, errTooBig
	}
	return sealedMemfd(state)
}
