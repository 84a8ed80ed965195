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

// Ident is what rules match: read cheaply for every EXEC.
type Ident struct {
	Pid       int
	StartTime uint64   // field 22 of /proc/PID/stat, clock ticks since boot
	Comm      string   // /proc/PID/comm
	Exe       string   // /proc/PID/exe, without " (deleted)"
	Argv      []string // /proc/PID/cmdline
	PPid      int
	Pgid      int
	Sid       int
	Zombie    bool // state Z or X: dead, not yet reaped
}

// ReadIdent reads pid's identity. An error means the process is gone (or
// /proc cannot be read at all); a field it could not read is left empty.
func ReadIdent(pid int) (Ident, error) { return Ident{}, errTODO }

// Proc is what a restart of a watched process needs, recorded at first
// sight.
type Proc struct {
	Ident
	Cwd    string
	Env    []string
	UID    uint32 // real uid
	GID    uint32 // real gid
	Groups []uint32
	// Missing names each field that could not be read, with why
	// ("environ: permission denied"): reported, never guessed.
	Missing []string
}

// ReadProc reads everything a restart needs. An error means the process is
// gone.
func ReadProc(pid int) (Proc, error) { return Proc{}, errTODO }

// Pids lists the processes (thread-group leaders) in /proc.
func Pids() ([]int, error) { return nil, errTODO }

// --- rules.go ---

// RuleKind says what a rule matches.
type RuleKind uint8

const (
	RuleExe   RuleKind = iota + 1 // the executable path, a path.Match glob
	RuleName                      // exactly comm, or the base name of argv[0]
	RuleRegex                     // a regexp matched against the command line (argv joined by spaces)
	RulePid                       // one process id
)

// Action is what an abnormal exit of a watched process does.
type Action uint8

const (
	ActionDefault Action = iota // restart for exe and pid rules, notify for name and regex
	ActionRestart               // restart it as respawn's own child, a server from then on
	ActionNotify                // an event and a log line only
)

// Rule picks processes to watch.
type Rule struct {
	Kind    RuleKind
	Pattern string // the glob, name, regexp or pid as given
	Action  Action // ActionDefault resolves with Effective
	File    string // the --watch-file it came from, or ""
}

// NewRule checks a rule: a glob path.Match accepts, a regexp that
// compiles, a name without '/', a pid > 0 (that the pid exists is the
// caller's check, at start). The error is one line for the operator.
func NewRule(kind RuleKind, pattern string, action Action) (Rule, error) { return Rule{}, errTODO }

// ParseRule is the inverse of Rule.String ("exe:/usr/sbin/*",
// "name:redis-server", "regex:^python3 .*worker", "pid:123"), with an
// optional action prefix of String's form ("notify exe:/x").
func ParseRule(s string) (Rule, error) { return Rule{}, errTODO }

// String is the rule as the operator sees it and as snapshots and the
// control protocol carry it: KIND:PATTERN, with " (notify)" or
// " (restart)" when the action was given.
func (r Rule) String() string { return "" }

// Effective is the rule's action with the default resolved.
func (r Rule) Effective() Action { return r.Action }

// Match reports whether the process id is matched by r.
func (r *Rule) Match(id *Ident) bool { return false }

// ParseArmourd reads armourd's configuration format: one executable path
// or glob a line, '#' to the end of a line is a comment, blank lines
// skipped. Each line is a RuleExe with action; the error names the file
// and line. Bounded: at most MaxFileBytes and MaxFileRules.
func ParseArmourd(name string, data []byte, action Action) ([]Rule, error) { return nil, errTODO }

// ReadArmourd opens and parses FILE (no more than MaxFileBytes read).
func ReadArmourd(name string, action Action) ([]Rule, error) { return nil, errTODO }

const (
	MaxFileBytes = 1 << 20
	MaxFileRules = 4096
)
