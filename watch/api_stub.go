package watch

// This file is the package's contract while it is being written: every
// function here is replaced by its real body in the file named in its
// comment, and this file is deleted.

import (
	"errors"

	"golang.org/x/net/bpf"
)

var errTODO = errors.New("watch: not implemented")

// --- cn.go (kernel message parser; fuzz target FuzzParse) ---

// Parse decodes one datagram read from the proc connector socket (one or
// more netlink messages, each a cn_msg holding a proc_event) and appends
// the events it holds to dst. Messages of other kinds, and proc events
// this package does not use (fork, uid, ...), are skipped. Every length
// is checked against what was read: a malformed datagram is an error,
// never a panic or a read out of bounds.
func Parse(dst []Event, b []byte) ([]Event, error) { return dst, errTODO }

// --- filter.go ---

// MaxFilterPids is the most watched pids the BPF program lists one by
// one; with more, it keeps the EXIT of every thread-group leader.
const MaxFilterPids = 1024

// Filter assembles the classic BPF program attached to the socket: it
// keeps the acknowledgement (PROC_EVENT_NONE), the EXEC of thread-group
// leaders (pid == tgid), and the EXIT of thread-group leaders whose pid is
// in watched; it drops everything else (a fork storm never wakes us).
// Loads in classic BPF are big-endian and the kernel writes host order:
// the constants are swapped to match.
func Filter(watched []int) ([]bpf.RawInstruction, error) { return nil, errTODO }

// --- conn_linux.go ---

// Options set up the socket.
type Options struct {
	RcvBuf   int  // receive buffer, bytes; DefaultRcvBuf if 0
	NoFilter bool // attach no BPF filter (for measuring what it saves)
}

// DefaultRcvBuf is the receive buffer asked for (SO_RCVBUFFORCE when
// permitted, else SO_RCVBUF up to net.core.rmem_max).
const DefaultRcvBuf = 8 << 20

// ErrOverrun is returned by Receive when the socket's buffer overran
// (ENOBUFS): events were lost. The buffer has been doubled (up to a
// bound) before Receive returns; the caller rescans /proc.
var ErrOverrun = errors.New("watch: proc connector overrun: events lost")

// Conn is the proc connector socket.
type Conn struct{}

// Open opens a NETLINK_CONNECTOR socket, joins CN_IDX_PROC, sets the
// receive buffer, attaches Filter(nil), and sends PROC_CN_MCAST_LISTEN:
// first the 8-byte proc_input with the mask EXEC|EXIT (kernel 6.6 and
// later filter in the kernel), then, if that is not acknowledged, the
// 4-byte form. It waits (bounded, about a second) for the kernel's
// acknowledgement: none means the connector cannot serve this process
// (not in the initial user, pid and network namespaces, or no
// CAP_NET_ADMIN before 6.6), and the error says which it can tell.
func Open(opt Options) (*Conn, error) { return nil, errTODO }

// Adopt takes over a socket a live upgrade kept open (already listening):
// nothing is sent, the filter is attached again for watched.
func Adopt(fd int, opt Options, watched []int) (*Conn, error) { return nil, errTODO }

// FD is the socket's descriptor, to keep across a live upgrade.
func (c *Conn) FD() int { return -1 }

// Masked reports whether the kernel filters by event type (the 8-byte
// listen was acknowledged).
func (c *Conn) Masked() bool { return false }

// RcvBuf is the receive buffer the kernel applied, bytes.
func (c *Conn) RcvBuf() int { return 0 }

// Receive blocks until a datagram arrives and appends its events to dst.
// It returns ErrOverrun after ENOBUFS (having grown the buffer), and
// net.ErrClosed (wrapped) once Close was called.
func (c *Conn) Receive(dst []Event) ([]Event, error) { return dst, errTODO }

// SetWatched attaches Filter(watched) in place of the current program. It
// may be called while another goroutine is in Receive.
func (c *Conn) SetWatched(watched []int) error { return errTODO }

// Close unblocks Receive and closes the socket. Detach instead leaves the
// descriptor open (for the next image) and unblocks Receive.
func (c *Conn) Close() error  { return errTODO }
func (c *Conn) Detach() error { return errTODO }

// --- ring.go ---

// Ring is a bounded queue of events from the socket's reader goroutine
// (the one producer) to the event loop (the one consumer). A push to a
// full ring drops the event and counts it; the next Drain then starts
// with one KindLost event carrying the count of that episode.
type Ring struct{}

// NewRing returns a ring holding at most n events (n >= 1).
func NewRing(n int) *Ring { return &Ring{} }

// Push adds e; false if the ring was full and e was dropped.
func (r *Ring) Push(e Event) bool { return false }

// Lost records that events were lost before reaching the ring (an
// overrun of the socket): the next Drain starts with a KindLost event.
func (r *Ring) Lost() {}

// Ready has a value after a Push or Lost that the consumer has not yet
// drained: the event loop selects on it.
func (r *Ring) Ready() <-chan struct{} { return nil }

// Drain appends up to max events to dst, oldest first, and signals Ready
// again if more are left.
func (r *Ring) Drain(dst []Event, max int) []Event { return dst }

// Dropped is the total count of events dropped because the ring was full.
func (r *Ring) Dropped() uint64 { return 0 }

// Cap is the ring's size.
func (r *Ring) Cap() int { return 0 }

// --- proc_linux.go ---
