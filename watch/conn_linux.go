//go:build linux

package watch

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/mdlayher/socket"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// The socket is a mdlayher/socket.Conn rather than a netlink.Conn: the
// datagrams must reach Parse as the kernel wrote them, and netlink.Conn
// would parse (and judge) them first.

// Conn is the proc connector socket.
type Conn struct {
	s        *socket.Conn
	sfd      int
	masked   bool
	filter   bool
	exits    bool         // Options.Exits: leaders' exits only, SetWatched a no-op
	asked    atomic.Int64 // the receive buffer last asked for
	rcvbuf   atomic.Int64 // the receive buffer the kernel applied
	closed   atomic.Bool
	detached atomic.Bool
	buf      []byte
}

// ackWait bounds the wait for the kernel's answer to a listen.
const ackWait = time.Second

// The inode numbers of the initial namespaces (PROC_USER_INIT_INO,
// PROC_PID_INIT_INO), fixed in the kernel since 3.8.
const (
	userInitIno = 0xEFFFFFFD
	pidInitIno  = 0xEFFFFFFC
)

// pinned holds the detached sockets, so that a Conn the caller dropped
// before the execve is not closed by its finalizer.
var pinned sync.Map

// open opens a socket bound to the proc events group, with opt's buffer
// and Filter(nil); with listen, it listens.
func open(opt Options, listen bool) (*Conn, error) {
	s, err := socket.Socket(unix.AF_NETLINK, unix.SOCK_RAW, unix.NETLINK_CONNECTOR, "proc-connector", nil)
	if errors.Is(err, unix.EPROTONOSUPPORT) {
		return nil, fmt.Errorf("watch: proc connector: not in the initial network namespace: %w", err)
	}
	if err != nil {
		return nil, fmt.Errorf("watch: proc connector: %w", err)
	}
	fd, err := sockFD(s)
	if err != nil {
		s.Close()
		return nil, err
	}
	c := newConn(s, fd, opt)
	if err := c.start(opt, listen); err != nil {
		c.close() // and stop listening, if the kernel took the listen
		return nil, err
	}
	return c, nil
}

// sockFD is the descriptor of s.
func sockFD(s *socket.Conn) (int, error) {
	fd := -1
	rc, err := s.SyscallConn()
	if err == nil {
		err = rc.Control(func(f uintptr) { fd = int(f) })
	}
	if err != nil {
		return -1, fmt.Errorf("watch: proc connector: %w", err)
	}
	return fd, nil
}

// newConn makes the Conn of s, whose descriptor is fd.
func newConn(s *socket.Conn, fd int, opt Options) *Conn {
	c := &Conn{s: s, sfd: fd, filter: !opt.NoFilter, exits: opt.Exits, buf: make([]byte, 16<<10)}
	n, _ := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF)
	c.rcvbuf.Store(int64(n))
	c.asked.Store(int64(n / 2))
	return c
}

// start binds a new socket to the proc events group, sets it up, and
// listens if told.
func (c *Conn) start(opt Options, listen bool) error {
	err := c.s.Bind(&unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: cnIdxProc})
	if err != nil {
		return fmt.Errorf("watch: proc connector: %w", err)
	}
	if err := c.setRcvBuf(rcvBufOf(opt)); err != nil {
		return err
	}
	if err := c.attachFilter(c.program(nil, true)); err != nil || !listen {
		return err
	}
	return c.listen()
}

// rcvBufOf is the receive buffer opt asks for.
func rcvBufOf(opt Options) int {
	if opt.RcvBuf > 0 {
		return opt.RcvBuf
	}
	return DefaultRcvBuf
}

// adopt sets fd up before it wraps it, so that a failure leaves fd as it
// was, for the caller to close.
func adopt(fd int, opt Options, watched []int) (*Conn, error) {
	if err := isConnector(fd); err != nil {
		return nil, err
	}
	if err := prepare(fd, opt, watched); err != nil {
		return nil, fmt.Errorf("watch: adopt %d: %w", fd, err)
	}
	unix.CloseOnExec(fd)
	s, err := socket.New(fd, "proc-connector")
	if err != nil {
		return nil, fmt.Errorf("watch: adopt %d: %w", fd, err)
	}
	c := newConn(s, fd, opt)
	c.masked, _ = c.narrow(rand.Uint32()) // not narrowed: the old listen stands
	return c, nil
}

// prepare grows the receive buffer of an inherited socket to opt's (an
// overrun in the old image may have grown it beyond) and attaches the
// filter for watched.
func prepare(fd int, opt Options, watched []int) error {
	have, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF)
	if err != nil {
		return os.NewSyscallError("getsockopt", err)
	}
	if want := rcvBufOf(opt); 2*want > have {
		err = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, want)
		if err != nil {
			err = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, want)
		}
		if err != nil {
			return os.NewSyscallError("setsockopt", err)
		}
	}
	if opt.NoFilter {
		return nil
	}
	prog, err := Filter(watched)
	if opt.Exits {
		prog, err = ExitFilter()
	}
	if err != nil {
		return err
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: (*unix.SockFilter)(unsafe.Pointer(&prog[0]))}
	return os.NewSyscallError("setsockopt", unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &fprog))
}

// isConnector checks that fd is a NETLINK_CONNECTOR socket.
func isConnector(fd int) error {
	domain, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_DOMAIN)
	if err != nil {
		return fmt.Errorf("watch: adopt %d: %w", fd, os.NewSyscallError("getsockopt", err))
	}
	proto, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_PROTOCOL)
	if err != nil {
		return fmt.Errorf("watch: adopt %d: %w", fd, os.NewSyscallError("getsockopt", err))
	}
	if domain != unix.AF_NETLINK || proto != unix.NETLINK_CONNECTOR {
		return fmt.Errorf("watch: adopt %d: not a netlink connector socket (domain %d, protocol %d)", fd, domain, proto)
	}
	return nil
}

// setRcvBuf asks for n bytes of receive buffer: SO_RCVBUFFORCE, or
// SO_RCVBUF (bounded by net.core.rmem_max) without CAP_NET_ADMIN.
func (c *Conn) setRcvBuf(n int) error {
	if err := c.s.SetReadBuffer(n); err != nil {
		return fmt.Errorf("watch: receive buffer of %d bytes: %w", n, err)
	}
	got, err := c.s.ReadBuffer()
	if err != nil {
		return fmt.Errorf("watch: receive buffer: %w", err)
	}
	c.asked.Store(int64(n))
	c.rcvbuf.Store(int64(got))
	return nil
}

// setWatched attaches the filter for watched; on a Conn of exits only
// it does nothing: that filter keeps every leader's exit.
func (c *Conn) setWatched(watched []int, execs bool) error {
	if c.exits {
		return nil
	}
	return c.attachFilter(c.program(watched, execs))
}

// program is the filter of c: ExitFilter, or filter(watched, execs).
func (c *Conn) program(watched []int, execs bool) func() ([]bpf.RawInstruction, error) {
	if c.exits {
		return ExitFilter
	}
	return func() ([]bpf.RawInstruction, error) { return filter(watched, execs) }
}

// attachFilter attaches the program build returns in place of the
// current one, unless Options.NoFilter.
func (c *Conn) attachFilter(build func() ([]bpf.RawInstruction, error)) error {
	if !c.filter {
		return nil
	}
	prog, err := build()
	if err != nil {
		return err
	}
	if err := c.s.SetBPF(prog); err != nil {
		return fmt.Errorf("watch: attach filter: %w", err)
	}
	return nil
}

// listen asks for events in the 4-byte form every kernel takes, and
// waits for the kernel's answer: none means the connector does not serve
// this process. Then it narrows the events to EXEC and EXIT with the
// 8-byte proc_input of kernels since 6.6 (older ones ignore it).
func (c *Conn) listen() error {
	seq := rand.Uint32()
	err := c.send(listenMsg(mcastListen, 0, false, seq))
	if errors.Is(err, unix.ECONNREFUSED) {
		return fmt.Errorf("watch: proc connector: not in the initial network namespace: %w", err)
	}
	if err != nil {
		return err
	}
	acked, err := c.await(seq)
	if err == nil && !acked {
		err = fmt.Errorf("watch: proc connector did not acknowledge the listen: %s", whyNoAck())
	}
	if err != nil {
		return err
	}
	c.masked, _ = c.narrow(seq + 1) // not narrowed: all events, which the filter drops
	return nil
}

// mask is the 8-byte listen's event types: EXIT alone for a wake-up
// socket of exits.
func (c *Conn) mask() uint32 {
	if c.exits {
		return procEventExit
	}
	return procEventExec | procEventExit
}

// narrow sends the 8-byte listen. The kernel filters its answer (an event
// of type NONE, which is in no mask) out of this very socket, so a second
// socket, which joins the group but never listens and so is not
// filtered, waits for it: an answer means the kernel took the mask.
func (c *Conn) narrow(seq uint32) (bool, error) {
	probe, err := open(Options{RcvBuf: 1 << 20}, false)
	if err != nil {
		return false, err
	}
	defer probe.s.Close()
	if err := c.send(listenMsg(mcastListen, c.mask(), true, seq)); err != nil {
		return false, err
	}
	return probe.await(seq)
}

// await waits (at most ackWait) for the kernel's answer to the request
// seq; events meanwhile are discarded. Answers are multicast to every
// listener: seq tells ours. An answer with an error is the error.
func (c *Conn) await(seq uint32) (bool, error) {
	if err := c.s.SetReadDeadline(time.Now().Add(ackWait)); err != nil {
		return false, fmt.Errorf("watch: proc connector: %w", err)
	}
	defer c.s.SetReadDeadline(time.Time{})
	e, err := c.nextAck(seq)
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("watch: proc connector: %w", err)
	case e.Err != 0:
		return false, fmt.Errorf("watch: proc connector refused the listen: %w", syscall.Errno(e.Err))
	}
	return true, nil
}

// nextAck reads until the acknowledgement of seq.
func (c *Conn) nextAck(seq uint32) (Event, error) {
	var evs []Event
	for {
		n, err := c.recv()
		if errors.Is(err, unix.ENOBUFS) {
			_ = c.grow() // the ack may be lost: the wait ends without it
			continue
		}
		if err != nil {
			return Event{}, err
		}
		evs, _ = Parse(evs[:0], c.buf[:n])
		for _, e := range evs {
			if e.Kind == KindNone && e.Seq == seq {
				return e, nil
			}
		}
	}
}

// whyNoAck says why the kernel may have ignored a listen: it answers only
// processes in the initial user and pid namespaces.
func whyNoAck() string {
	switch {
	case !initialNS("user", userInitIno):
		return "not in the initial user namespace"
	case !initialNS("pid", pidInitIno):
		return "not in the initial pid namespace"
	}
	return "no acknowledgement from the kernel (CAP_NET_ADMIN, needed before Linux 6.6?)"
}

// initialNS reports whether /proc/self/ns/name is the initial namespace
// (true if it cannot tell).
func initialNS(name string, ino uint64) bool {
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/ns/"+name, &st); err != nil {
		return true
	}
	return st.Ino == ino
}

// send sends msg to the kernel's connector.
func (c *Conn) send(msg []byte) error {
	_, err := c.s.Sendmsg(context.Background(), msg, nil, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}, 0)
	if err != nil {
		return fmt.Errorf("watch: proc connector: %w", err)
	}
	return nil
}

// recv reads the next datagram the kernel sent into c.buf; datagrams
// from other processes (a root process may send to our port) are skipped.
func (c *Conn) recv() (int, error) {
	for {
		n, _, flags, from, err := c.s.Recvmsg(context.Background(), c.buf, nil, 0)
		if err != nil {
			return 0, err
		}
		if sa, ok := from.(*unix.SockaddrNetlink); !ok || sa.Pid != 0 {
			continue
		}
		if flags&unix.MSG_TRUNC != 0 {
			return 0, fmt.Errorf("watch: receive: a datagram of more than %d bytes", len(c.buf))
		}
		return n, nil
	}
}

func (c *Conn) receive(dst []Event) ([]Event, error) {
	for {
		if err := c.stopped(); err != nil {
			return dst, err
		}
		n, err := c.recv()
		if errors.Is(err, unix.ENOBUFS) {
			return dst, c.grow()
		}
		if err != nil {
			if stop := c.stopped(); stop != nil {
				return dst, stop
			}
			return dst, fmt.Errorf("watch: receive: %w", err)
		}
		k := len(dst)
		if dst, err = Parse(dst, c.buf[:n]); err != nil || len(dst) > k {
			return dst, err
		}
	}
}

// stopped is the error of a Receive after Close or Detach.
func (c *Conn) stopped() error {
	switch {
	case c.closed.Load():
		return fmt.Errorf("watch: receive: %w", net.ErrClosed)
	case c.detached.Load():
		return ErrDetached
	}
	return nil
}

// grow doubles the receive buffer after an overrun, up to MaxRcvBuf.
func (c *Conn) grow() error {
	n := min(2*int(c.asked.Load()), MaxRcvBuf)
	if err := c.setRcvBuf(n); err != nil {
		return fmt.Errorf("%w (and the buffer did not grow: %w)", ErrOverrun, err)
	}
	return ErrOverrun
}

func (c *Conn) fd() int        { return c.sfd }
func (c *Conn) isMasked() bool { return c.masked }
func (c *Conn) rcvBuf() int    { return int(c.rcvbuf.Load()) }
func (c *Conn) setDeadline() error {
	if err := c.s.SetReadDeadline(time.Unix(1, 0)); err != nil {
		return fmt.Errorf("watch: proc connector: %w", err)
	}
	return nil
}

func (c *Conn) close() error {
	if c.closed.Swap(true) {
		return nil
	}
	pinned.Delete(c)
	err := c.send(listenMsg(mcastIgnore, 0, false, rand.Uint32()))
	return errors.Join(err, c.s.Close())
}

func (c *Conn) detach() error {
	pinned.Store(c, true)
	c.detached.Store(true)
	return c.setDeadline()
}

func (c *Conn) attach() error {
	c.detached.Store(false)
	pinned.Delete(c)
	if err := c.s.SetReadDeadline(time.Time{}); err != nil {
		return fmt.Errorf("watch: proc connector: %w", err)
	}
	return nil
}
