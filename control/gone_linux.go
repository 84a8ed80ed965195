//go:build linux

package control

import (
	"time"

	"golang.org/x/sys/unix"
)

// watchGone returns a channel closed once the client has closed its
// connection (a full close: a client that only shut its writing side
// down is still waiting for its answer), and stop, which ends the watch
// and must be called (once or more) before the connection is read
// again. The watch parks on the runtime's poller, never on a thread. A
// client that has sent more after its request is not watched: it is
// still there.
func (cl *client) watchGone() (gone <-chan struct{}, stop func()) {
	rc, err := cl.c.SyscallConn()
	if err != nil || cl.r.Buffered() > 0 {
		return nil, func() {}
	}
	_ = cl.c.SetReadDeadline(time.Time{})
	closed, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		hup := false
		_ = rc.Read(func(fd uintptr) bool {
			p := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
			if n, err := unix.Poll(p, 0); err != nil || n == 0 {
				return false // nothing yet: park until the socket stirs
			}
			hup = p[0].Revents&unix.POLLHUP != 0
			return hup || p[0].Revents&unix.POLLIN != 0 && !peerHalfClosed(int(fd))
		})
		if hup {
			close(closed)
		}
	}()
	return closed, func() {
		_ = cl.c.SetReadDeadline(time.Now()) // wakes the watch
		<-done
	}
}

// peerHalfClosed reports whether the only thing to read on fd is the end
// of the stream of a client that shut its writing side down.
func peerHalfClosed(fd int) bool {
	var b [1]byte
	n, _, err := unix.Recvfrom(fd, b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
	return err == nil && n == 0
}
