package watch

// This file is the package's contract while it is being written: every
// function here is replaced by its real body in the file named in its
// comment, and this file is deleted.

import "errors"

var errTODO = errors.New("watch: not implemented")

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
