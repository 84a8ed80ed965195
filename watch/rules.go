package watch

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"unicode/utf8"
)

// RuleKind says what a rule matches.
type RuleKind uint8

const (
	RuleExe   RuleKind = iota + 1 // the executable path, a path.Match glob
	RuleName                      // exactly comm, or the base name of argv[0]
	RuleRegex                     // a regexp matched against the command line (argv joined by spaces)
	RulePid                       // one process id
)

var kindNames = [...]string{RuleExe: "exe", RuleName: "name", RuleRegex: "regex", RulePid: "pid"}

// String is the kind as rules spell it: exe, name, regex or pid.
func (k RuleKind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Action is what an abnormal exit of a watched process does.
type Action uint8

const (
	ActionDefault Action = iota // restart for exe and pid rules, notify for name and regex
	ActionRestart               // restart it as respawn's own child, a server from then on
	ActionNotify                // an event and a log line only
)

// String is the action as flags and rules spell it: restart, notify, or
// "" for ActionDefault.
func (a Action) String() string {
	switch a {
	case ActionRestart:
		return "restart"
	case ActionNotify:
		return "notify"
	case ActionDefault:
		return ""
	}
	return "action(" + strconv.Itoa(int(a)) + ")"
}

// ParseAction reads "restart" or "notify" (--watch-action).
func ParseAction(s string) (Action, error) {
	switch s {
	case "restart":
		return ActionRestart, nil
	case "notify":
		return ActionNotify, nil
	}
	return 0, fmt.Errorf("watch: action %q: want restart or notify", clip(s))
}

// Rule picks processes to watch. A Rule caches its compiled regexp:
// compare rules by String, not with ==. Match may fill that cache, so a
// Rule is used by one goroutine at a time.
type Rule struct {
	Kind    RuleKind
	Pattern string // the glob, name, regexp or pid as given
	Action  Action // ActionDefault resolves with Effective
	File    string // the --watch-file it came from, or ""

	re  *regexp.Regexp // RuleRegex's Pattern, compiled
	pid int            // RulePid's Pattern, parsed
}

// MaxPattern is the longest pattern a rule may have (PATH_MAX).
const MaxPattern = 4096

// maxPid is the kernel's PID_MAX_LIMIT: no pid is above it.
const maxPid = 1 << 22

// NewRule checks a rule: a glob path.Match accepts, a regexp that
// compiles, a name without '/', a pid > 0 (that the pid exists is the
// caller's check, at start). The error is one line for the operator.
//
// An exe glob must be an absolute path, as /proc/PID/exe always is (a
// relative one could never match); a pid's Pattern is made canonical
// ("0123" is "123"). No pattern is empty, holds a NUL byte, or is over
// MaxPattern bytes.
func NewRule(kind RuleKind, pattern string, action Action) (Rule, error) {
	r := Rule{Kind: kind, Pattern: pattern, Action: action}
	if err := r.check(); err != nil {
		return Rule{}, fmt.Errorf("watch: %s rule %q: %w", kind, clip(pattern), err)
	}
	return r, nil
}

// check checks r and fills its caches.
func (r *Rule) check() error {
	switch {
	case r.Action > ActionNotify:
		return errors.New("unknown action")
	case r.Pattern == "":
		return errors.New("empty")
	case len(r.Pattern) > MaxPattern:
		return fmt.Errorf("over %d bytes", MaxPattern)
	case strings.IndexByte(r.Pattern, 0) >= 0:
		return errors.New("holds a NUL byte")
	}
	switch r.Kind {
	case RuleExe:
		return checkGlob(r.Pattern)
	case RuleName:
		if strings.IndexByte(r.Pattern, '/') >= 0 {
			return errors.New("a name holds no '/': for a path, use an exe rule")
		}
		return nil
	case RuleRegex:
		re, err := regexp.Compile(r.Pattern)
		if err != nil {
			return regexpError(err)
		}
		r.re = re
		return nil
	case RulePid:
		return r.checkPid()
	}
	return errors.New("unknown kind")
}

// regexpError is a regexp's syntax error without the "error parsing
// regexp" that the rule's words say, the expression quoted: one line.
func regexpError(err error) error {
	var se *syntax.Error
	if errors.As(err, &se) {
		return fmt.Errorf("%s: %q", se.Code, clip(se.Expr))
	}
	return errors.New("bad regexp")
}

func checkGlob(p string) error {
	if !strings.HasPrefix(p, "/") {
		return errors.New("not an absolute path: /proc/PID/exe, which it matches, always is")
	}
	if _, err := path.Match(p, ""); err != nil {
		return errors.New("bad glob: syntax error in pattern")
	}
	return nil
}

func (r *Rule) checkPid() error {
	n, err := strconv.Atoi(r.Pattern)
	switch {
	case err != nil && !isDigits(r.Pattern):
		return errors.New("not a number")
	case err != nil || n > maxPid:
		return fmt.Errorf("over the kernel's limit of %d", maxPid)
	case n <= 0:
		return errors.New("a pid is 1 or more")
	}
	r.pid, r.Pattern = n, strconv.Itoa(n)
	return nil
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// ParseRule is the inverse of Rule.String ("exe:/usr/sbin/*",
// "name:redis-server", "regex:^python3 .*worker", "pid:123"), with an
// optional action prefix of String's form ("notify exe:/x").
func ParseRule(s string) (Rule, error) {
	s, action := cutAction(s)
	ks, pattern, ok := strings.Cut(s, ":")
	if !ok {
		return Rule{}, fmt.Errorf("watch: rule %q: want KIND:PATTERN, KIND exe, name, regex or pid", clip(s))
	}
	for k, name := range kindNames {
		if name != "" && name == ks {
			return NewRule(RuleKind(k), pattern, action)
		}
	}
	return Rule{}, fmt.Errorf("watch: rule %q: unknown kind %q: want exe, name, regex or pid", clip(s), clip(ks))
}

// ParseTarget reads a rule as an operator names one to watch: a pid
// alone ("123" is the rule "pid:123"), or what ParseRule reads.
func ParseTarget(s string) (Rule, error) {
	if isDigits(s) {
		return NewRule(RulePid, s, ActionDefault)
	}
	return ParseRule(s)
}

// cutAction cuts the action from a rule: the prefix "notify " or
// "restart ", or else the suffix " (notify)" or " (restart)".
func cutAction(s string) (string, Action) {
	for _, a := range []Action{ActionNotify, ActionRestart} {
		if rest, ok := strings.CutPrefix(s, a.String()+" "); ok {
			return rest, a
		}
	}
	for _, a := range []Action{ActionNotify, ActionRestart} {
		if rest, ok := strings.CutSuffix(s, " ("+a.String()+")"); ok {
			return rest, a
		}
	}
	return s, ActionDefault
}

// String is the rule as the operator sees it and as snapshots and the
// control protocol carry it: KIND:PATTERN, with " (notify)" or
// " (restart)" when the action was given. A pattern that itself ends as
// such a suffix gets its effective action written after it, so that
// ParseRule reads the pattern back whole.
func (r Rule) String() string {
	s := r.Kind.String() + ":" + r.Pattern
	a := r.Action
	if a == ActionDefault && (strings.HasSuffix(s, " (notify)") || strings.HasSuffix(s, " (restart)")) {
		a = r.Effective()
	}
	if a != ActionDefault {
		s += " (" + a.String() + ")"
	}
	return s
}

// Effective is the rule's action with the default resolved.
func (r Rule) Effective() Action {
	if r.Action != ActionDefault {
		return r.Action
	}
	if r.Kind == RuleExe || r.Kind == RulePid {
		return ActionRestart
	}
	return ActionNotify
}

// commLen is the longest comm the kernel keeps (TASK_COMM_LEN less its
// NUL): a longer program name is cut to it.
const commLen = 15

// Match reports whether the process id is matched by r. It never matches
// a kernel thread (no executable and no command line) or a dead process
// (a zombie). An exe rule matches nothing whose executable could not be
// read. A rule that does not pass NewRule matches nothing.
func (r *Rule) Match(id *Ident) bool {
	if id.Zombie || id.Exe == "" && len(id.Argv) == 0 {
		return false
	}
	switch r.Kind {
	case RuleExe:
		ok, err := path.Match(r.Pattern, id.Exe)
		return ok && err == nil && id.Exe != ""
	case RuleName:
		return r.matchName(id)
	case RuleRegex:
		return r.compiled() && r.re.MatchString(strings.Join(id.Argv, " "))
	case RulePid:
		return r.compiled() && id.Pid == r.pid
	}
	return false
}

// matchName compares the name with comm, which the kernel cuts to 15
// bytes, and with the base name of argv[0].
func (r *Rule) matchName(id *Ident) bool {
	if id.Comm == r.Pattern || len(r.Pattern) > commLen && id.Comm == r.Pattern[:commLen] {
		return true
	}
	if len(id.Argv) == 0 {
		return false
	}
	a0 := id.Argv[0]
	return a0[strings.LastIndexByte(a0, '/')+1:] == r.Pattern
}

// compiled fills the caches of a rule that was not made by NewRule (read
// back from a snapshot); false if it does not pass NewRule's checks.
func (r *Rule) compiled() bool {
	if r.re != nil || r.pid != 0 {
		return true
	}
	c := *r
	if c.check() != nil {
		return false
	}
	r.re, r.pid = c.re, c.pid
	return true
}

// clip shortens what an operator gave for an error message.
func clip(s string) string {
	const n = 80
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "..."
}
