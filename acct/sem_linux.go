//go:build linux

package acct

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// System V semaphores, which x/sys/unix does not wrap: the numbers of
// linux/sem.h and linux/ipc.h.
const (
	semUndo = 0x1000 // SEM_UNDO: undone when the process ends
	getPid  = 11     // GETPID: the last process that changed it
	getVal  = 12     // GETVAL
	setVal  = 16     // SETVAL
)

// holders counts the daemons of this process image that hold the raise
// of the private semaphore: one that this image did not make is from
// before an execve.
var holders atomic.Int32

// sembuf is struct sembuf.
type sembuf struct {
	num  uint16
	op   int16
	flag int16
}

// semGet returns the id of the set key, made with n semaphores when flags
// hold IPC_CREAT.
func semGet(key, n, flags int) (int, error) {
	id, _, errno := unix.Syscall(unix.SYS_SEMGET, uintptr(key), uintptr(n), uintptr(flags))
	if errno != 0 {
		return -1, os.NewSyscallError("semget", errno)
	}
	return int(id), nil
}

// semCtl runs cmd on semaphore num of set id, with arg as union semun's val.
func semCtl(id, num, cmd, arg int) (int, error) {
	r, _, errno := unix.Syscall6(unix.SYS_SEMCTL, uintptr(id), uintptr(num), uintptr(cmd), uintptr(arg), 0, 0)
	if errno != 0 {
		return -1, os.NewSyscallError("semctl", errno)
	}
	return int(r), nil
}

// semOp applies ops to set id at once, failing with EAGAIN when one would
// block and IPC_NOWAIT is in its flags.
func semOp(id int, ops ...sembuf) error {
	_, _, errno := unix.Syscall(unix.SYS_SEMOP, uintptr(id), uintptr(unsafe.Pointer(&ops[0])), uintptr(len(ops)))
	if errno != 0 {
		return os.NewSyscallError("semop", errno)
	}
	return nil
}

// raisePrivate makes or reuses the private set and raises it by 1 with
// SEM_UNDO: it falls back when this process ends, however it ends. A
// value above 0 is another daemon (ErrRunning), but for a raise of this
// process's own before an execve (a live upgrade whose daemon was not
// taken over: the adjustment survives execve), which is given back first.
func raisePrivate() (int, error) {
	id, err := openPrivate()
	if err != nil {
		return -1, fmt.Errorf("acct: private semaphore %d: %w", PrivateKey, err)
	}
	v, err := semCtl(id, 0, getVal, 0)
	if err == nil && v > 0 && ownRaise(id) {
		if err = semOp(id, sembuf{0, -1, semUndo | unix.IPC_NOWAIT}); err == nil {
			v--
		}
	}
	if err != nil {
		return -1, fmt.Errorf("acct: private semaphore %d: %w", PrivateKey, err)
	}
	if v > 0 {
		return -1, fmt.Errorf("%w (private semaphore %d is %d)", ErrRunning, PrivateKey, v)
	}
	if err := semOp(id, sembuf{0, 1, semUndo}); err != nil {
		return -1, fmt.Errorf("acct: raise private semaphore %d: %w", PrivateKey, err)
	}
	holders.Add(1)
	return id, nil
}

// openPrivate returns the private set, made anew (value 0) when there is
// none, or when the one there is not root's alone: whoever made it may
// hold it raised, refusing every daemon, or lower it under a running one.
func openPrivate() (int, error) {
	id, err := semGet(PrivateKey, 0, 0)
	switch {
	case err == nil:
		if safe, err := rootsOnly(id); err != nil || safe {
			return id, err
		}
		if _, err := semCtl(id, 0, unix.IPC_RMID, 0); err != nil {
			return -1, err
		}
	case !errors.Is(err, unix.ENOENT):
		return -1, err
	}
	if id, err = semGet(PrivateKey, 1, 0o600|unix.IPC_CREAT|unix.IPC_EXCL); err == nil {
		_, err = semCtl(id, 0, setVal, 0)
	}
	return id, err
}

// rootsOnly reports whether only root may change the set id: root owns
// and made it, and it grants group and others nothing.
func rootsOnly(id int) (bool, error) {
	var ds struct {
		perm unix.SysvIpcPerm
		_    [16]uint64 // the rest of struct semid64_ds (IPC_64 is implied)
	}
	_, _, errno := unix.Syscall6(unix.SYS_SEMCTL, uintptr(id), 0, unix.IPC_STAT, uintptr(unsafe.Pointer(&ds)), 0, 0)
	if errno != 0 {
		return false, os.NewSyscallError("semctl", errno)
	}
	return ds.perm.Uid == 0 && ds.perm.Cuid == 0 && ds.perm.Mode&0o077 == 0, nil
}

// ownRaise reports whether the last change of the private set id was
// this process's while no daemon of this image holds it: a raise made
// before an execve. No other process changes a root-only set but a
// daemon starting or ending.
func ownRaise(id int) bool {
	if holders.Load() > 0 {
		return false
	}
	pid, err := semCtl(id, 0, getPid, 0)
	return err == nil && pid == os.Getpid()
}

// daemonsOn returns how many daemons other than this process hold the
// private set raised: none when there is no set, when it is not root's
// alone (see openPrivate) or when the raise is this process's own.
func daemonsOn() (int, error) {
	id, err := semGet(PrivateKey, 0, 0)
	if errors.Is(err, unix.ENOENT) {
		return 0, nil
	}
	var v int
	if err == nil {
		v, err = semCtl(id, 0, getVal, 0)
	}
	safe := false
	if err == nil && v > 0 {
		safe, err = rootsOnly(id)
	}
	if err != nil {
		return 0, fmt.Errorf("acct: private semaphore %d: %w", PrivateKey, err)
	}
	if v == 0 || !safe || ownRaise(id) {
		return 0, nil
	}
	return v, nil
}

// lowerPrivate undoes raisePrivate: with SEM_UNDO too, so that the
// adjustment the kernel keeps for this process falls back to 0.
func lowerPrivate(id int) error {
	if err := semOp(id, sembuf{0, -1, semUndo | unix.IPC_NOWAIT}); err != nil {
		return fmt.Errorf("acct: lower private semaphore %d: %w", PrivateKey, err)
	}
	holders.Add(-1)
	return nil
}

// makePublic removes the public set if it exists and makes it anew:
// semaphore 0 at PublicTotal (no client), semaphore 1 at 1 (unlocked).
func makePublic() (int, error) {
	if id, err := semGet(PublicKey, 0, 0); err == nil {
		semCtl(id, 0, unix.IPC_RMID, 0)
	}
	id, err := semGet(PublicKey, 2, 0o666|unix.IPC_CREAT|unix.IPC_EXCL)
	if err == nil {
		if _, err = semCtl(id, 0, setVal, PublicTotal); err == nil {
			_, err = semCtl(id, 1, setVal, 1)
		}
	}
	if err != nil {
		return -1, fmt.Errorf("acct: public semaphore %d: %w", PublicKey, err)
	}
	return id, nil
}

// clients returns how many atop clients hold the public set, under its
// lock (semaphore 1) taken without waiting; ok is false when the lock is
// taken by someone else, who may be a client registering.
func clients(pub int) (n int, ok bool) {
	if semOp(pub, sembuf{1, -1, semUndo | unix.IPC_NOWAIT}) != nil {
		return 0, false
	}
	defer semOp(pub, sembuf{1, 1, semUndo})
	v, err := semCtl(pub, 0, getVal, 0)
	if err != nil {
		return 0, false
	}
	return PublicTotal - v, true
}
