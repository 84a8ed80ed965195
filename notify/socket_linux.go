//go:build linux

package notify

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// soPassPidfd is SO_PASSPIDFD (Linux 6.5), which x/sys does not name yet
// on every architecture; it has this value on all of them but alpha,
// mips, parisc and sparc, where it is not asked for.
const soPassPidfd = 76

// maxRights bounds the descriptors read with one datagram: the kernel
// refuses to pass more than SCM_MAX_FD (253) at once; those beyond what
// the buffer holds are closed by the kernel (MSG_CTRUNC).
const maxRights = 253

// Conn is the receiving socket. Receive must be called by one goroutine
// at a time; Wait may be called by another.
type Conn struct {
	fd   int
	file *os.File // the same descriptor, for the runtime poller (Wait)
	addr string   // as NOTIFY_SOCKET gives it: "@" then the abstract name
	buf  []byte
	oob  []byte

	closed atomic.Bool
}

// Listen binds a new socket at "@respawn/notify/PID/RANDOM" (see the
// package doc) with SO_PASSCRED, and SO_PASSPIDFD where the kernel has
// it. The descriptor is close-on-exec and non-blocking.
func Listen() (*Conn, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("notify: %w", os.NewSyscallError("socket", err))
	}
	var nonce [8]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("notify: %w", err)
	}
	name := "respawn/notify/" + strconv.Itoa(os.Getpid()) + "/" + hex.EncodeToString(nonce[:])
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: "@" + name}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("notify: bind @%s: %w", name, os.NewSyscallError("bind", err))
	}
	c, err := newConn(fd)
	if err != nil {
		unix.Close(fd)
	}
	return c, err
}

// Adopt takes over the socket a live upgrade kept at fd. The descriptor
// is made close-on-exec and non-blocking again; its name is read back
// from the kernel. On error fd is left open, for the caller to close.
func Adopt(fd int) (*Conn, error) {
	if typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE); err != nil || typ != unix.SOCK_DGRAM {
		return nil, fmt.Errorf("notify: kept descriptor %d is not a datagram socket", fd)
	}
	unix.CloseOnExec(fd)
	if err := unix.SetNonblock(fd, true); err != nil {
		return nil, fmt.Errorf("notify: %w", os.NewSyscallError("fcntl", err))
	}
	return newConn(fd)
}

// newConn asks for the credentials and reads back the bound name.
func newConn(fd int) (*Conn, error) {
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_PASSCRED, 1); err != nil {
		return nil, fmt.Errorf("notify: %w", os.NewSyscallError("setsockopt SO_PASSCRED", err))
	}
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, soPassPidfd, 1) // older kernels: pids only
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return nil, fmt.Errorf("notify: %w", os.NewSyscallError("getsockname", err))
	}
	un, ok := sa.(*unix.SockaddrUnix)
	if !ok || len(un.Name) < 2 || un.Name[0] != '@' {
		return nil, fmt.Errorf("notify: descriptor %d is not bound to an abstract name", fd)
	}
	c := &Conn{
		fd: fd, addr: un.Name, buf: make([]byte, MaxMessage+1),
		oob: make([]byte, unix.CmsgSpace(unix.SizeofUcred)+unix.CmsgSpace(4)+unix.CmsgSpace(4*maxRights)),
	}
	c.file = os.NewFile(uintptr(fd), "notify")
	return c, nil
}

// Addr is the socket's address as NOTIFY_SOCKET holds it ("@...").
func (c *Conn) Addr() string { return c.addr }

// FD is the socket's descriptor, to keep across a live upgrade.
func (c *Conn) FD() int { return c.fd }

// Close closes the socket; a Wait under way returns.
func (c *Conn) Close() error {
	c.closed.Store(true)
	return c.file.Close()
}

// Wait blocks until a datagram is there to receive, or the socket is
// closed (an error wrapping os.ErrClosed). It reads nothing.
func (c *Conn) Wait() error {
	rc, err := c.file.SyscallConn()
	if err == nil {
		err = c.read(rc)
	}
	if c.closed.Load() {
		return fmt.Errorf("notify: %w", os.ErrClosed)
	}
	return err
}

// read waits in the runtime's poller until a datagram can be received.
func (c *Conn) read(rc syscall.RawConn) error {
	var perr error
	err := rc.Read(func(fd uintptr) bool {
		_, _, perr = unix.Recvfrom(int(fd), nil, unix.MSG_PEEK|unix.MSG_DONTWAIT)
		return !errors.Is(perr, unix.EAGAIN)
	})
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	if perr != nil && !errors.Is(perr, unix.EINTR) {
		return fmt.Errorf("notify: %w", os.NewSyscallError("recvfrom", perr))
	}
	return nil
}

// Receive reads one datagram without blocking: ok is false when there is
// none. d.Data is valid until the next Receive. The descriptors passed
// with it and its pidfd are the caller's to close, with Datagram.Close,
// as soon as it has placed the sender and before the next Receive.
func (c *Conn) Receive() (d Datagram, ok bool, err error) {
	n, oobn, flags, _, err := unix.Recvmsg(c.fd, c.buf, c.oob, unix.MSG_DONTWAIT|unix.MSG_CMSG_CLOEXEC)
	switch {
	case errors.Is(err, unix.EAGAIN):
		return d, false, nil
	case err != nil:
		return d, false, fmt.Errorf("notify: %w", os.NewSyscallError("recvmsg", err))
	}
	d = Datagram{Data: c.buf[:n], Pidfd: -1, Truncated: n > MaxMessage || flags&unix.MSG_TRUNC != 0}
	if d.Truncated {
		d.Data = c.buf[:min(n, MaxMessage)]
	}
	d.control(c.oob[:oobn])
	return d, true, nil
}

// control reads the credentials and takes the pidfd and every passed
// descriptor, for Close.
func (d *Datagram) control(oob []byte) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return // no credentials: Pid stays 0, and the message is refused
	}
	for i := range msgs {
		m := &msgs[i]
		switch {
		case m.Header.Level != unix.SOL_SOCKET:
		case m.Header.Type == unix.SCM_CREDENTIALS:
			if cred, err := unix.ParseUnixCredentials(m); err == nil {
				d.Pid, d.UID, d.GID = int(cred.Pid), cred.Uid, cred.Gid
			}
		case m.Header.Type == unix.SCM_RIGHTS:
			fds, _ := unix.ParseUnixRights(m)
			d.rights = append(d.rights, fds...)
			d.Dropped += len(fds)
		case m.Header.Type == unix.SCM_PIDFD && len(m.Data) >= 4:
			d.Pidfd = int(int32(binary.NativeEndian.Uint32(m.Data)))
		}
	}
}

// Close closes the descriptors passed with the datagram and its pidfd.
func (d *Datagram) Close() {
	for _, fd := range d.rights {
		unix.Close(fd)
	}
	d.rights = nil
	if d.Pidfd >= 0 {
		unix.Close(d.Pidfd)
		d.Pidfd = -1
	}
}

// SamePid reports whether the datagram's sender still has pid d.Pid, as
// far as the kernel can tell: without a pidfd, whether some process has
// it. A caller that read /proc/PID before asking knows, when SamePid is
// true, that what it read was the sender's.
func (d *Datagram) SamePid() bool {
	if d.Pid <= 0 {
		return false
	}
	if d.Pidfd < 0 {
		return syscall.Kill(d.Pid, 0) != syscall.ESRCH
	}
	pid, err := pidfdPid(d.Pidfd)
	return err == nil && pid == d.Pid
}

// pidfdPid is the pid a pidfd refers to, from /proc/self/fdinfo ("Pid:"
// line; -1 once the process has been reaped).
func pidfdPid(fd int) (int, error) {
	b, err := os.ReadFile("/proc/self/fdinfo/" + strconv.Itoa(fd))
	if err != nil {
		return 0, err
	}
	return fdinfoPid(b)
}

// fdinfoPid finds the "Pid:" line of a pidfd's fdinfo.
func fdinfoPid(b []byte) (int, error) {
	for len(b) > 0 {
		var line []byte
		line, b, _ = bytes.Cut(b, []byte{'\n'})
		if v, ok := bytes.CutPrefix(line, []byte("Pid:")); ok {
			return strconv.Atoi(string(bytes.TrimSpace(v)))
		}
	}
	return 0, errors.New("notify: no Pid line in a pidfd's fdinfo")
}
