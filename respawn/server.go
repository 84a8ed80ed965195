package respawn

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"syscall"

	"respawn/capture"
)

// State is where a server or task stands in the state machine.
type State uint8

// The states, in the order of the package documentation.
const (
	Unborn State = iota
	Alive
	Dead
	Buried
	Cremated
	nStates
)

var stateNames = [nStates]string{"UNBORN", "ALIVE", "DEAD", "BURIED", "CREMATED"}

func (s State) String() string {
	if s < nStates {
		return stateNames[s]
	}
	return "STATE(" + strconv.Itoa(int(s)) + ")"
}

// ParseState is the inverse of State.String.
func ParseState(s string) (State, bool) {
	for i, n := range stateNames {
		if n == s {
			return State(i), true
		}
	}
	return 0, false
}

// Exit is how a server or task last ended. The zero Exit means it has not
// ended yet.
type Exit struct {
	Code   int            // exit status, when it exited
	Signal syscall.Signal // the signal that killed it, or 0
	Core   bool           // a core was dumped
	Err    string         // a spawn error, or a task's error or panic
	Set    bool           // this Exit holds an ending
	Acct   *Accounting    // the kernel's accounting record of it (--acct), or nil
}

// Clean reports whether the ending is one mds-respawn calls normal: exit 0,
// or death by SIGTERM or SIGINT. A spawn failure or a task error is not.
func (e Exit) Clean() bool {
	if !e.Set || e.Err != "" {
		return false
	}
	if e.Signal != 0 {
		return e.Signal == syscall.SIGTERM || e.Signal == syscall.SIGINT
	}
	return e.Code == 0
}

func (e Exit) String() string {
	switch {
	case !e.Set:
		return "-"
	case e.Err != "":
		return "error: " + e.Err
	case e.Signal != 0:
		s := "signal " + signalName(e.Signal)
		if e.Core {
			s += " (core dumped)"
		}
		return s
	}
	return "exit " + strconv.Itoa(e.Code)
}

func exitOf(ws syscall.WaitStatus) Exit {
	if ws.Signaled() {
		return Exit{Signal: ws.Signal(), Core: ws.CoreDump(), Set: true}
	}
	return Exit{Code: ws.ExitStatus(), Set: true}
}

// TaskFunc is the body of an internal task. It runs on its own goroutine
// and must return soon after ctx is cancelled. A non-nil error or a panic
// is an abnormal death; nil cremates the task.
type TaskFunc func(ctx context.Context) error

// Server is the record of one supervised server or internal task. It is
// owned by the event loop; other goroutines see copies (Info).
type Server struct {
	Index    int      // 1-based, servers first, then tasks
	Name     string   // unique among servers and tasks
	Argv     []string // the command line (servers); nil for tasks
	State    State
	Pid      int      // while ALIVE (servers); 0 otherwise
	Pgid     int      // the process group of the current or last process
	StartNs  int64    // CLOCK_MONOTONIC of the last start, ns
	StartRT  int64    // CLOCK_REALTIME of the last start, ns
	Restarts int      // starts after the first
	Last     Exit     // the last ending
	Started  bool     // started at least once
	Set      Settings // the server's own settings (servers only)

	procStart  uint64 // /proc/PID/stat start time of Pid, 0 if not read yet
	listed     bool   // in the supervisor's unstamped list
	short      int    // consecutive lives shorter than paceFree, and spawn retries
	fast       int    // deaths in a row sooner than the interval: the retries used (retry.go)
	dueNs      int64  // CLOCK_MONOTONIC when a paced or retried DEAD record respawns; 0 if not waiting
	carriedDue int64  // the dueNs a live upgrade's snapshot held, until resume schedules it
	path       string // Argv[0] as found in $PATH by the last start

	out        *capture.Pipes // captured stdout and stderr, for every start; nil: inherited
	outRefused bool           // capture failed once (logged): inherit from then on

	task     TaskFunc
	keep     bool // a task that keeps the supervisor running
	cancel   context.CancelFunc
	stopping bool // an operator asked it to stop: its death cremates, and it stays so until started
	restart  bool // an operator asked it to restart: its death starts it again (evExitRestart)
	waiters  []waiter

	killNs      int64          // CLOCK_MONOTONIC when a server being stopped is SIGKILLed; 0 if not (see stopDeadlines)
	killPid     int            // the process killNs is for
	stopSig     syscall.Signal // the signal respawn sent to stop its current process, or 0
	spawnErr    error          // why its last start failed, or nil
	carriedKill int64          // the killNs a live upgrade's snapshot held, until resume arms it

	adopted *adoption // a watched process respawn took over when it died, or nil
	sd      sdState   // what its process said over sd_notify (notify.go)

	lastExitRT int64 // CLOCK_REALTIME of the last ending (--acct): a late record's death is still Last
	permanent  bool  // the task's last error was a permanentError: buried at once
}

// adoption is where a server taken over from a watched process came from.
type adoption struct {
	rule string // the rule that watched it
	exe  string // its executable as /proc showed it
}

// logID is how log lines name the record: server=INDEX name=NAME for a
// server, task=NAME for a task, which has no index an operator uses.
func (s *Server) logID() []any {
	if s.task != nil {
		return []any{"task", s.Name}
	}
	return []any{"server", s.Index, "name", s.Name}
}

// IsTask reports whether the record is an internal task.
func (s *Server) IsTask() bool { return s.task != nil }

// CommandLine is the server's argv quoted for a shell, or "task NAME".
func (s *Server) CommandLine() string {
	if s.task != nil {
		return "task " + s.Name
	}
	return Quote(s.Argv)
}

// Quote joins argv so that a shell would split it back the same way. A
// word with a control character, another non-printing rune or invalid
// UTF-8 is written $'...' with escapes, so that the result is one line of
// printable text; any other word needs nothing beyond POSIX sh.
func Quote(argv []string) string { return string(appendQuoted(nil, argv)) }

// appendQuoted appends Quote(argv) to b.
func appendQuoted(b []byte, argv []string) []byte {
	for i, a := range argv {
		if i > 0 {
			b = append(b, ' ')
		}
		// A first word with '=' would read as an assignment: quote it.
		if a != "" && plainWord(a) && (i > 0 || !strings.Contains(a, "=")) {
			b = append(b, a...)
			continue
		}
		if !printable(a) {
			b = appendDollarQuoted(b, a)
			continue
		}
		b = append(b, '\'')
		for j := 0; j < len(a); j++ {
			if a[j] == '\'' {
				b = append(b, `'\''`...)
			} else {
				b = append(b, a[j])
			}
		}
		b = append(b, '\'')
	}
	return b
}

// plainWord reports whether a shell reads a as itself, unquoted.
func plainWord(a string) bool {
	for j := 0; j < len(a); j++ {
		c := a[j]
		if !(c == '-' || c == '_' || c == '.' || c == '/' || c == '=' || c == ':' || c == ',' || c == '+' || c == '@' || c == '%' ||
			c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

func signalName(sig syscall.Signal) string {
	if n := unixSignalName(sig); n != "" {
		return n
	}
	return fmt.Sprintf("%d", int(sig))
}
