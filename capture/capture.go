// Package capture reads what servers write to their stdout and stderr
// through pipes respawn holds, and writes it, line by line and tagged with
// the server's name, to respawn's log stream and optionally to a file per
// server with size-based rotation.
//
// Each captured server has two pipes (stdout, stderr). Respawn keeps their
// read ends open for the server's whole life, and opens a write end anew
// for each start (through /proc/self/fd, closed again once the server has
// it): every generation of the server, and any child it leaves behind,
// writes into the same pipes, and a server never sees EPIPE or SIGPIPE
// because a reader went away, since the reader is respawn itself. Only
// the read ends stay in respawn: every descriptor respawn holds is copied
// by each fork, so two per server cost half of what four would, in
// descriptors and in spawn time. A live upgrade carries the read ends to
// the new image, which reads on where the old one stopped.
//
// One goroutine reads every pipe (an epoll loop): it costs one thread and
// one 64 KiB buffer whatever the number of servers, and an idle server
// costs nothing but its descriptors. It never runs on the supervisor's
// event loop. Lines are assembled per stream; a line longer than MaxLine
// is written in pieces, each but the last marked partial. What it writes
// goes to a Sink that never blocks (a logbuf.Writer): a line the sink
// cannot take is dropped and counted per server, and reported in one log
// line when the server's lines get through again.
package capture

import (
	"errors"
	"log/slog"
	"sync/atomic"
	"time"
)

// MaxLine is the longest line written whole; a longer one is cut into
// pieces of MaxLine bytes. It bounds the memory a stream holds for a line
// not yet ended.
const MaxLine = 4096

// Descriptors each captured server holds in respawn: the read ends of its
// two pipes.
const FDsPerServer = 2

// Reserve is how many descriptors below RLIMIT_NOFILE Open leaves free for
// everything else respawn opens (control clients, /proc files, log
// files, a live upgrade's snapshot).
const Reserve = 64

// ErrNoRoom is returned by Open when the pipes would come within Reserve
// of RLIMIT_NOFILE.
var ErrNoRoom = errors.New("capture: too few descriptors left under RLIMIT_NOFILE")

// Sink is where the formatted lines go. Offer takes p whole and reports
// true, or drops it and reports false; it must never block. It is called
// from the reader goroutine only.
type Sink interface {
	Offer(p []byte) bool
}

// Config is a Hub's configuration.
type Config struct {
	Sink Sink         // where tagged lines go
	JSON bool         // one JSON object per line instead of "name| line"
	Log  *slog.Logger // drop reports and log-file trouble
	Now  func() time.Time
}

// File is a server's log file: Path rotated to Path.1 ... Path.Keep when it
// would pass Max bytes.
type File struct {
	Path string
	Max  int64
	Keep int
}

// The defaults of File.Max and File.Keep.
const (
	DefaultMax  = 10 << 20
	DefaultKeep = 5
)

// Pipes are one server's captured stdout and stderr.
type Pipes struct {
	name    string
	fds     [FDsPerServer]int // the read ends: stdout's, stderr's
	file    *logFile          // nil without a log file; the reader's
	dropped atomic.Uint64     // lines dropped, ever
	episode uint64            // lines dropped since the last report; the reader's
}

// FDs returns the read ends, stdout's then stderr's, for a live upgrade to
// keep and Adopt to take back.
func (p *Pipes) FDs() []int { return p.fds[:] }

// Dropped is the number of lines of this server the sink could not take.
func (p *Pipes) Dropped() uint64 { return p.dropped.Load() }

// stream is one pipe's read end and the line it is assembling.
type stream struct {
	p    *Pipes
	fd   int
	name string // "stdout" or "stderr"
	part []byte // the line so far; nil when none
	more bool   // the reader has it in its list of streams to read again
}
