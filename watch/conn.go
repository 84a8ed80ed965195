package watch

import (
	"errors"
	"fmt"
	"os"
)

// Options set up the socket.
type Options struct {
	RcvBuf   int  // receive buffer, bytes; DefaultRcvBuf if 0
	NoFilter bool // attach no BPF filter (for measuring what it saves)

	// Exits makes the socket a wake-up for process accounting: the mask
	// asks for EXIT only, and the filter keeps the listen's answers and
	// the exit of every thread-group leader (pid == tgid), whatever its
	// pid (ExitFilter); SetWatched and SetWatchedPids do nothing. Receive
	// returns those exits.
	Exits bool
}

// DefaultRcvBuf is the receive buffer asked for (SO_RCVBUFFORCE when
// permitted, else SO_RCVBUF up to net.core.rmem_max).
const DefaultRcvBuf = 8 << 20

// MaxRcvBuf bounds the receive buffer that overruns grow.
const MaxRcvBuf = 64 << 20

// ErrOverrun is returned by Receive when the socket's buffer overran
// (ENOBUFS): events were lost. The buffer has been doubled (up to a
// bound) before Receive returns; the caller rescans /proc.
var ErrOverrun = errors.New("watch: proc connector overrun: events lost")

// ErrDetached is returned by Receive after Detach, until Attach. Detach
// is a read deadline in the past, and ErrDetached wraps
// os.ErrDeadlineExceeded: a reader that takes it for a timed-out pause is
// right.
var ErrDetached = fmt.Errorf("watch: proc connector detached for the next image: %w", os.ErrDeadlineExceeded)

// Open opens a NETLINK_CONNECTOR socket, joins CN_IDX_PROC, sets the
// receive buffer, attaches Filter(nil), and sends PROC_CN_MCAST_LISTEN in
// the 4-byte form every kernel takes. It waits (bounded, about a second)
// for the kernel's acknowledgement: none means the connector cannot serve
// this process (not in the initial user, pid and network namespaces, or
// no CAP_NET_ADMIN before 6.6), and the error says which it can tell.
// Then it sends the 8-byte proc_input with the mask EXEC|EXIT, which
// kernels since 6.6 filter by and older ones ignore; the kernel's answer
// to that one never reaches a socket so masked (it is of type NONE), so a
// second socket, open for at most another second, watches for it.
// Events that arrive while it waits are discarded: scan /proc after Open.
func Open(opt Options) (*Conn, error) { return open(opt, true) }

// Adopt takes over a socket a live upgrade kept open (already listening):
// nothing is read from it (the events of the exec window wait there for
// Receive), the filter is attached again for watched, and the receive
// buffer is set to opt's unless it is already larger (an overrun in the
// old image grew it). It repeats the 8-byte listen, which changes nothing
// on a socket that had it, to learn Masked as Open does (on a kernel
// before 6.6 that costs a second's wait). Adopt sets close-on-exec on
// fd, and FD is fd. On success fd belongs to the Conn; on error (fd is
// not a NETLINK_CONNECTOR socket, or cannot be set up) it is left open,
// for the caller to close.
func Adopt(fd int, opt Options, watched []int) (*Conn, error) { return adopt(fd, opt, watched) }

// FD is the socket's descriptor, to keep across a live upgrade.
func (c *Conn) FD() int { return c.fd() }

// Masked reports whether the kernel filters by event type (the 8-byte
// listen was acknowledged). Without the mask the kernel sends every
// event, and the BPF filter alone drops the unused ones.
func (c *Conn) Masked() bool { return c.isMasked() }

// RcvBuf is the receive buffer the kernel applied, bytes (getsockopt
// SO_RCVBUF: twice what was asked, for the kernel's bookkeeping).
func (c *Conn) RcvBuf() int { return c.rcvBuf() }

// Receive blocks until a datagram from the kernel arrives and appends its
// events to dst; a datagram with no event it uses (or one from another
// process) is skipped and Receive blocks on. The kernel's answers to
// other processes' listens arrive too (KindNone): ignore them. It
// returns ErrOverrun after ENOBUFS (having grown the buffer), ErrDetached
// after Detach, and net.ErrClosed (wrapped) once Close was called. Only
// one goroutine may be in Receive at a time.
func (c *Conn) Receive(dst []Event) ([]Event, error) { return c.receive(dst) }

// SetWatched attaches Filter(watched) in place of the current program. It
// may be called while another goroutine is in Receive. With
// Options.NoFilter it does nothing.
func (c *Conn) SetWatched(watched []int) error { return c.setWatched(watched, true) }

// SetWatchedPids attaches FilterPids(watched): only the watched pids'
// exec and exit come through.
func (c *Conn) SetWatchedPids(watched []int) error { return c.setWatched(watched, false) }

// Close unblocks Receive, tells the kernel to stop sending (otherwise its
// count of listeners never drops, and it builds events for nobody), and
// closes the socket.
func (c *Conn) Close() error { return c.close() }

// Detach unblocks Receive (which returns ErrDetached from then on) and
// leaves the descriptor open and listening, for the next image to Adopt:
// events keep queueing in the socket's buffer. Call it before the
// execve of a live upgrade, and Attach if the execve fails.
func (c *Conn) Detach() error { return c.detach() }

// Attach undoes Detach: Receive blocks again until a datagram arrives (a
// live upgrade that failed goes on reading), from the first event that
// queued meanwhile.
func (c *Conn) Attach() error { return c.attach() }
