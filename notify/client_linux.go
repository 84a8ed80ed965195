//go:build linux

package notify

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// clientConn is the client's unbound datagram socket and its receiver's
// address (x/sys/unix maps a leading @ to the abstract namespace's NUL).
type clientConn struct {
	fd int
	to *unix.SockaddrUnix
}

func newClient(addr string) (*Client, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("notify: NOTIFY_SOCKET %s: %w", addr, os.NewSyscallError("socket", err))
	}
	return &Client{addr: addr, conn: clientConn{fd: fd, to: &unix.SockaddrUnix{Name: addr}}}, nil
}

// send never waits (MSG_DONTWAIT on a non-blocking socket): a full queue
// at the receiver is EAGAIN, a socket nobody binds ECONNREFUSED or ENOENT.
func (c *clientConn) send(addr, msg string) error {
	err := unix.Sendto(c.fd, []byte(msg), unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL, c.to)
	if err != nil {
		return fmt.Errorf("notify: send to %s: %w", addr, os.NewSyscallError("sendto", err))
	}
	return nil
}

func (c *clientConn) close() error {
	if c.fd < 0 {
		return nil
	}
	err := unix.Close(c.fd)
	c.fd = -1
	if err != nil {
		return fmt.Errorf("notify: %w", os.NewSyscallError("close", err))
	}
	return nil
}
