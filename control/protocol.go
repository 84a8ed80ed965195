package control

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"syscall"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	"respawn/respawn"
)

// MaxRequest is the longest request line a server reads, its newline not
// counted. A longer one is answered with CodeTooLong and the connection is
// closed.
const MaxRequest = 64 << 10

// MaxTarget is the longest target a request may name.
const MaxTarget = 256

// maxSignal is the highest signal number (SIGRTMAX on Linux).
const maxSignal = 64

// Request is one request line, as clients send it:
//
//	{"cmd":"signal","target":"web","signal":"HUP"}
type Request struct {
	Cmd    string  `json:"cmd"`
	Target string  `json:"target,omitempty"` // a server's or task's name, a server's index or program
	Signal string  `json:"signal,omitempty"` // for signal: HUP, SIGHUP or 1
	Wait   bool    `json:"wait,omitempty"`   // for stop: answer once it has ended
	After  *uint64 `json:"after,omitempty"`  // for events: resume after this sequence number
	Rule   string  `json:"rule,omitempty"`   // for watch, unwatch: a rule as watch.ParseRule reads it, or a pid

	sig syscall.Signal // Signal, parsed by DecodeRequest
}

// The codes of failed answers, for programs to branch on.
const (
	CodeBadRequest    = "bad_request"    // not JSON, unknown command, missing or extra argument
	CodeTooLong       = "too_long"       // request line over MaxRequest
	CodeTimeout       = "timeout"        // no complete request within the timeout
	CodeBusy          = "busy"           // too many clients, or the supervisor did not take the request in time
	CodeRefused       = "refused"        // the peer's uid is not served
	CodeUnknownTarget = "unknown_target" // no server or task by that name or index
	CodeFailed        = "failed"         // the supervisor refused: wrong state, not running, ...
	CodeUnavailable   = "unavailable"    // this build cannot upgrade itself
	CodeClosing       = "closing"        // the supervisor is shutting down
)

// Answer is one answer line. OK tells success; on failure Error says why in
// words and Code in a word. The other fields are set by the commands that
// return them.
type Answer struct {
	OK      bool           `json:"ok"`
	Error   string         `json:"error,omitempty"`
	Code    string         `json:"code,omitempty"`
	List    []respawn.Info `json:"list,omitempty"`    // list
	Status  *respawn.Info  `json:"status,omitempty"`  // status, stop, start, signal, revive TARGET
	Dump    *respawn.Dump  `json:"dump,omitempty"`    // dump
	Revived *int           `json:"revived,omitempty"` // revive
	Sent    string         `json:"sent,omitempty"`    // reload: the signal sent
	Seq     *uint64        `json:"seq,omitempty"`     // events: the last sequence number before the stream

	Watching  *Watching `json:"watching,omitempty"`  // watched; list, when something is watched
	Picked    *int      `json:"picked,omitempty"`    // watch: processes the rule picked up at once
	Unwatched *int      `json:"unwatched,omitempty"` // unwatch: processes no longer watched
	Added     *int      `json:"added,omitempty"`     // watch-reload: rules added
	Removed   *int      `json:"removed,omitempty"`   // watch-reload: rules removed
}

// Event is one transition in the events stream. Seq numbers the
// transitions one by one, across live upgrades; Index is a server's, and
// 0 (absent) for a task.
type Event struct {
	Seq   uint64 `json:"seq"`
	Index int    `json:"index,omitempty"`
	Name  string `json:"name"`
	Task  bool   `json:"task,omitempty"`
	From  string `json:"from,omitempty"` // absent for a watched process's event
	To    string `json:"to,omitempty"`
	Pid   int    `json:"pid"`            // the process that started or ended; 0 for a task
	Exit  string `json:"exit,omitempty"` // how it ended, for a transition out of ALIVE
	Time  string `json:"time"`           // RFC 3339, UTC, nanoseconds

	// Watch is set for an event of a watched process, which has no
	// states: exec, exit, gone, unwatched, lost or restart (see
	// respawn.Transition.Watch). Rule is the rule that watches it;
	// Missed, for lost, how many events were lost (absent: unknown).
	Watch  string `json:"watch,omitempty"`
	Rule   string `json:"rule,omitempty"`
	Missed uint64 `json:"missed,omitempty"`

	// Acct is the kernel's accounting record of the death (--acct): on
	// the transition out of ALIVE when it was read by then, or on a line
	// of its own, with Accounted, when it was read after.
	Acct      *respawn.Accounting `json:"acct,omitempty"`
	Accounted bool                `json:"accounted,omitempty"`
}

// Dropped is the events stream's line saying that N transitions were lost
// because the client did not read fast enough. It follows the last event
// that could be buffered.
type Dropped struct {
	Dropped uint64 `json:"dropped"`
}

// Lost is the events stream's line, first after a resume, saying that N
// transitions after the one asked for are no longer held (more happened
// while the client was away than the supervisor keeps). With Reset, the
// sequence the client knew is not this supervisor's (it rebuilt itself
// without its snapshot, or another one answers): how many were missed is
// unknown, and numbering goes on from the answer's seq.
type Lost struct {
	Lost  uint64 `json:"lost"`
	Reset bool   `json:"reset,omitempty"`
}

// StreamLine decodes any line of the events stream: an Event, or a line
// with only Dropped, or Lost and Reset, set.
type StreamLine struct {
	Event
	Dropped uint64 `json:"dropped,omitempty"`
	Lost    uint64 `json:"lost,omitempty"`
	Reset   bool   `json:"reset,omitempty"`
}

// ErrBadRequest is wrapped by every error of DecodeRequest but
// ErrTooLong.
var ErrBadRequest = errors.New("control: bad request")

// badRequest is a DecodeRequest error in the words an answer carries: what
// was wrong, without the package and the code, which the answer's Code
// says.
func badRequest(err error) string {
	return strings.TrimPrefix(err.Error(), ErrBadRequest.Error()+": ")
}

// ErrTooLong is returned for a request over MaxRequest bytes.
var ErrTooLong = fmt.Errorf("control: request over %d bytes", MaxRequest)

type arg uint8

const (
	argNone arg = iota
	argOptional
	argRequired
)

// command is what a request may carry for one command.
type command struct {
	target, signal, rule arg
	wait, after          bool // may carry wait, after
}

var commands = map[string]command{
	"list":     {},
	"dump":     {},
	"events":   {after: true},
	"upgrade":  {},
	"shutdown": {},
	"status":   {target: argRequired},
	"stop":     {target: argRequired, wait: true},
	"start":    {target: argRequired},
	"restart":  {target: argRequired},
	"reload":   {target: argRequired},
	"revive":   {target: argOptional},
	"signal":   {target: argRequired, signal: argRequired},

	"watch":        {rule: argRequired},
	"unwatch":      {rule: argRequired},
	"watch-reload": {},
	"watched":      {},

	"fire-watchdog": {},
}

// DecodeRequest decodes and checks one request line (without its newline).
// It accepts exactly one JSON object with known fields only, a known
// command, and the arguments that command takes.
func DecodeRequest(line []byte) (Request, error) {
	if len(line) > MaxRequest {
		return Request{}, ErrTooLong
	}
	var r Request
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return Request{}, fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Request{}, fmt.Errorf("%w: data after the request object", ErrBadRequest)
	}
	if err := r.check(); err != nil {
		return Request{}, fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	return r, nil
}

func (r *Request) check() error {
	c, ok := commands[r.Cmd]
	switch {
	case r.Cmd == "":
		return errors.New(`no "cmd"`)
	case !ok:
		return fmt.Errorf("unknown command %q", clip(r.Cmd))
	}
	if err := c.target.check("target", r.Cmd, r.Target); err != nil {
		return err
	}
	if err := c.signal.check("signal", r.Cmd, r.Signal); err != nil {
		return err
	}
	if err := c.rule.check("rule", r.Cmd, r.Rule); err != nil {
		return err
	}
	if r.Rule != "" {
		if err := checkRule(r.Cmd, r.Rule); err != nil {
			return err
		}
	}
	switch {
	case r.Wait && !c.wait:
		return fmt.Errorf("%s takes no %q", r.Cmd, "wait")
	case r.After != nil && !c.after:
		return fmt.Errorf("%s takes no %q", r.Cmd, "after")
	}
	if len(r.Target) > MaxTarget || !utf8.ValidString(r.Target) {
		return fmt.Errorf("target: at most %d bytes of UTF-8", MaxTarget)
	}
	if r.Signal != "" {
		sig, err := ParseSignal(r.Signal)
		if err != nil {
			return err
		}
		r.sig = sig
	}
	return nil
}

func (a arg) check(field, cmd, v string) error {
	switch {
	case a == argNone && v != "":
		return fmt.Errorf("%s takes no %q", cmd, field)
	case a == argRequired && v == "":
		return fmt.Errorf("%s needs a %q", cmd, field)
	}
	return nil
}

// ParseSignal parses a signal given as a name with or without SIG, in any
// case (HUP, sigterm), or as a number from 1 to 64.
func ParseSignal(s string) (syscall.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 || n > maxSignal {
			return 0, fmt.Errorf("signal %d: out of range 1 to %d", n, maxSignal)
		}
		return syscall.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("unknown signal %q", clip(s))
}

// clip shortens what a request said for an error message.
func clip(s string) string {
	const n = 64
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "..."
}
