package heartbeat

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Limits of a registration, as Parse enforces them.
const (
	MaxFile    = 4096 // bytes in a registration file
	MaxName    = 64   // bytes in a registrant's name
	MaxPath    = 4095 // bytes in the FIFO's path (PATH_MAX less the NUL)
	MinPeriod  = 10 * time.Millisecond
	MaxPeriod  = time.Hour
	MaxMisses  = 1000
	MaxPid     = 1<<22 - 1 // PID_MAX_LIMIT
	maxSuffix  = 32        // bytes of the mkstemp part of a file name
	filePrefix = ".phm_"
	// InvalidPrefix is put in front of the name of a registration file
	// that is refused: it is renamed, never deleted.
	InvalidPrefix = "invalid"
)

// Action is what a registrant that misses its deadline gets.
type Action uint8

// The actions: SIGKILL (the supervisor restarts a server or a watched
// process with restart), or a log line only.
const (
	ActionKill Action = iota + 1
	ActionLog
)

func (a Action) String() string {
	switch a {
	case ActionKill:
		return "kill"
	case ActionLog:
		return "log"
	}
	return "action(" + strconv.Itoa(int(a)) + ")"
}

// ParseAction reads "kill" or "log".
func ParseAction(s string) (Action, error) {
	switch s {
	case "kill":
		return ActionKill, nil
	case "log":
		return ActionLog, nil
	}
	return 0, fmt.Errorf("heartbeat: action %.20q: want kill or log", s)
}

// Registration is what a registration file says.
type Registration struct {
	FIFO   string        // absolute path of the FIFO the registrant writes beats to
	Period time.Duration // the registrant beats at least this often
	Misses int           // periods in a row that may pass without a beat
	Action Action        // what a missed deadline does
	Name   string        // the registrant's name, for the log
}

// Grace is how long a registrant may stay silent: Misses+1 periods.
func (r Registration) Grace() time.Duration {
	return r.Period * time.Duration(r.Misses+1)
}

// ErrIncomplete is Parse's error for a file that may still be being
// written: a key missing, or a last line without its newline.
var ErrIncomplete = errors.New("heartbeat: registration incomplete")

// Parse reads a registration file: key=value lines, each ending in a
// newline, with the keys fifo, period, misses, action and name each
// exactly once; blank lines and lines starting with # are skipped. An
// unknown or repeated key, or a value out of range, is an error; a file
// that may be half written is ErrIncomplete.
func Parse(b []byte) (Registration, error) {
	var r Registration
	if len(b) > MaxFile {
		return r, fmt.Errorf("heartbeat: registration of %d bytes, over %d", len(b), MaxFile)
	}
	seen := map[string]bool{}
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return r, fmt.Errorf("%w: last line without a newline", ErrIncomplete)
		}
		line := string(b[:i])
		b = b[i+1:]
		if line == "" || line[0] == '#' {
			continue
		}
		key, val, ok := strings.Cut(line, "=")
		if !ok {
			return r, fmt.Errorf("heartbeat: line %.40q is not key=value", line)
		}
		if seen[key] {
			return r, fmt.Errorf("heartbeat: key %.20q repeated", key)
		}
		if err := r.set(key, val); err != nil {
			return r, err
		}
		seen[key] = true
	}
	for _, k := range []string{"fifo", "period", "misses", "action", "name"} {
		if !seen[k] {
			return r, fmt.Errorf("%w: no %s", ErrIncomplete, k)
		}
	}
	return r, nil
}

// set takes one key's value.
func (r *Registration) set(key, val string) error {
	var err error
	switch key {
	case "fifo":
		err = checkPath(val)
		r.FIFO = val
	case "period":
		r.Period, err = parsePeriod(val)
	case "misses":
		r.Misses, err = strconv.Atoi(val)
		if err == nil && (r.Misses < 0 || r.Misses > MaxMisses) {
			err = fmt.Errorf("heartbeat: misses %d out of 0 to %d", r.Misses, MaxMisses)
		}
	case "action":
		r.Action, err = ParseAction(val)
	case "name":
		err = checkName(val)
		r.Name = val
	default:
		return fmt.Errorf("heartbeat: unknown key %.20q", key)
	}
	if err != nil && !strings.HasPrefix(err.Error(), "heartbeat:") {
		err = fmt.Errorf("heartbeat: %s: %w", key, err)
	}
	return err
}

// parsePeriod reads a duration with its unit ("100ms", "2s") or a number
// of milliseconds.
func parsePeriod(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil {
		ms, err2 := strconv.ParseUint(v, 10, 32)
		if err2 != nil {
			return 0, fmt.Errorf("heartbeat: period %.20q: want a duration such as 100ms", v)
		}
		d = time.Duration(ms) * time.Millisecond
	}
	if d < MinPeriod || d > MaxPeriod {
		return 0, fmt.Errorf("heartbeat: period %s out of %s to %s", d, MinPeriod, MaxPeriod)
	}
	return d, nil
}

func checkPath(p string) error {
	switch {
	case p == "" || p[0] != '/':
		return fmt.Errorf("heartbeat: fifo %.40q is not an absolute path", p)
	case len(p) > MaxPath:
		return fmt.Errorf("heartbeat: fifo path of %d bytes", len(p))
	case strings.IndexByte(p, 0) >= 0:
		return errors.New("heartbeat: fifo path holds a NUL")
	}
	return nil
}

// checkName allows letters, digits and ._-: a name goes to log lines.
func checkName(n string) error {
	if n == "" || len(n) > MaxName {
		return fmt.Errorf("heartbeat: name of %d bytes, want 1 to %d", len(n), MaxName)
	}
	for _, c := range []byte(n) {
		if !isAlnum(c) && c != '.' && c != '_' && c != '-' {
			return fmt.Errorf("heartbeat: name %.40q: want letters, digits and ._-", n)
		}
	}
	return nil
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// ParseFileName reads the PID in a registration file's name,
// .phm_<PID>_XXXXXX (XXXXXX: 1 to 32 letters and digits, as mkstemp
// makes them). ok is false for any other name.
func ParseFileName(name string) (pid int, ok bool) {
	rest, ok := strings.CutPrefix(name, filePrefix)
	if !ok {
		return 0, false
	}
	num, suffix, ok := strings.Cut(rest, "_")
	if !ok || suffix == "" || len(suffix) > maxSuffix || num == "" || num[0] == '0' {
		return 0, false
	}
	for _, c := range []byte(suffix) {
		if !isAlnum(c) {
			return 0, false
		}
	}
	pid, err := strconv.Atoi(num)
	if err != nil || pid < 1 || pid > MaxPid {
		return 0, false
	}
	return pid, true
}

// IsRegistration reports whether a directory entry's name is one that
// the monitor reads (a valid name or not): it starts with .phm_.
func IsRegistration(name string) bool { return strings.HasPrefix(name, filePrefix) }
