package control

import (
	"errors"
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// ErrInUse is returned by Listen when a live process serves the socket.
var ErrInUse = errors.New("control: a live supervisor already serves the control socket")

// Listen creates the control socket at path and listens on it. The parent
// directory is created with mode 0700 if missing; the socket has mode 0600
// from the moment it appears at path. A socket left there by a process
// that is gone (connecting is refused) is replaced; one that a live
// process serves is never taken over, and Listen returns an error wrapping
// ErrInUse. Anything else at path is left alone and refused.
//
// The listener does not remove path when closed (SetUnlinkOnClose(false)):
// a live upgrade keeps the listener open across execve, so nothing but
// Remove, called when the supervisor ends, may remove the socket file.
func Listen(path string) (*net.UnixListener, error) { return listen(path) }

// FromFile returns a listener on the same socket as f, which must be a
// listening unix stream socket, such as the one a live upgrade kept open
// for the new image. The listener holds its own descriptor: the caller
// closes f when done with it.
func FromFile(f *os.File) (*net.UnixListener, error) { return fromFile(f) }

// FromFD adopts the inherited descriptor fd as the control listener, as
// FromFile does, and closes fd: the listener holds a duplicate, with
// close-on-exec set again. A descriptor that is not a socket is refused
// and left open: the number comes from a snapshot, and may name a file
// the process has opened since (the snapshot's own memfd was there), which
// is not FromFD's to close.
func FromFD(fd int) (*net.UnixListener, error) {
	if _, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE); err != nil {
		return nil, fmt.Errorf("control: descriptor %d is not a socket: %w", fd, os.NewSyscallError("getsockopt", err))
	}
	f := os.NewFile(uintptr(fd), "control")
	if f == nil {
		return nil, fmt.Errorf("control: invalid descriptor %d", fd)
	}
	defer f.Close()
	return fromFile(f)
}

// FD returns the listener's own descriptor number (not a duplicate), for a
// live upgrade to keep open across execve. It stays valid until ln is
// closed; the caller must not close it nor change its flags for good.
func FD(ln *net.UnixListener) (int, error) {
	raw, err := ln.SyscallConn()
	if err != nil {
		return -1, fmt.Errorf("control: %w", err)
	}
	fd := -1
	if err := raw.Control(func(v uintptr) { fd = int(v) }); err != nil {
		return -1, fmt.Errorf("control: %w", err)
	}
	return fd, nil
}

// Remove removes the socket file at path if no live process serves it any
// more; call it after closing the listener, when the supervisor ends. A
// socket some other supervisor has since bound there is left alone.
func Remove(path string) error { return remove(path) }
