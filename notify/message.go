package notify

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// The limits of the parser.
const (
	// MaxMessage is the largest datagram accepted, in bytes: systemd's
	// own limit (NOTIFY_BUFFER_MAX is PIPE_BUF). A longer one is refused
	// whole.
	MaxMessage = 4096
	// MaxStatus bounds STATUS=; a longer status is cut there (at a UTF-8
	// boundary is not promised: it is escaped when shown).
	MaxStatus = 512
	// MaxPid is the highest pid the kernel hands out (PID_MAX_LIMIT).
	MaxPid = 1<<22 - 1
	// MaxWatchdogUsec bounds WATCHDOG_USEC= (one day): a longer timeout
	// is as good as none, and the sum with a clock must not overflow.
	MaxWatchdogUsec = 24 * 3600 * 1000000
)

// Message is what one datagram says. A field is set only by a line that
// names it with a valid value; a later line of the same key overrides an
// earlier one, as in systemd.
type Message struct {
	Ready     bool // READY=1
	Reloading bool // RELOADING=1
	Stopping  bool // STOPPING=1
	Barrier   bool // BARRIER=1

	Status    string // STATUS=, cut to MaxStatus
	StatusSet bool

	Watchdog        bool   // WATCHDOG=1: a ping
	WatchdogTrigger bool   // WATCHDOG=trigger: act as on a missed ping, now
	WatchdogUsec    uint64 // WATCHDOG_USEC=: a new timeout, 1 to MaxWatchdogUsec; 0 if not given

	MainPID int // MAINPID=: 1 to MaxPid; 0 if not given

	Errno    int // ERRNO=: 0 to 4095
	ErrnoSet bool

	// Invalid names the known keys whose value was refused (at most one
	// entry per key): the rest of the message still counts.
	Invalid []string
}

// ErrTooLong is returned for a datagram over MaxMessage bytes.
var ErrTooLong = errors.New("notify: message over 4096 bytes")

// ErrNul is returned for a datagram holding a NUL byte, which systemd
// refuses too: no client sends one.
var ErrNul = errors.New("notify: message holds a NUL byte")

// Parse reads a datagram's newline-separated KEY=VALUE lines. Unknown keys,
// empty lines and lines without '=' are ignored; a known key with an
// invalid value is named in Invalid. Parse allocates no more than the
// status and Invalid, whatever b holds.
func Parse(b []byte) (Message, error) {
	var m Message
	if len(b) > MaxMessage {
		return m, ErrTooLong
	}
	if bytes.IndexByte(b, 0) >= 0 {
		return m, ErrNul
	}
	for len(b) > 0 {
		var line []byte
		line, b, _ = bytes.Cut(b, []byte{'\n'})
		key, val, ok := bytes.Cut(line, []byte{'='})
		if ok && !m.field(string(key), val) {
			m.invalid(string(key))
		}
	}
	return m, nil
}

// field applies one KEY=VALUE line and reports false if the key is known
// and its value is not valid. The conversion string(key) in a switch
// does not allocate.
func (m *Message) field(key string, val []byte) bool {
	switch key {
	case "READY":
		return flag(&m.Ready, val)
	case "RELOADING":
		return flag(&m.Reloading, val)
	case "STOPPING":
		return flag(&m.Stopping, val)
	case "BARRIER":
		return flag(&m.Barrier, val)
	case "STATUS":
		m.Status, m.StatusSet = string(val[:min(len(val), MaxStatus)]), true
		return true
	case "WATCHDOG":
		return m.watchdog(val)
	case "WATCHDOG_USEC":
		n, ok := number(val, MaxWatchdogUsec)
		m.WatchdogUsec = uint64(n)
		return ok && n > 0
	case "MAINPID":
		n, ok := number(val, MaxPid)
		if ok && n > 0 {
			m.MainPID = n
		}
		return ok && n > 0
	case "ERRNO":
		n, ok := number(val, 4095)
		m.Errno, m.ErrnoSet = n, ok
		return ok
	}
	return true
}

func (m *Message) watchdog(val []byte) bool {
	switch string(val) {
	case "1":
		m.Watchdog = true
	case "trigger":
		m.WatchdogTrigger = true
	default:
		return false
	}
	return true
}

// invalid records key in Invalid, once.
func (m *Message) invalid(key string) {
	for _, k := range m.Invalid {
		if k == key {
			return
		}
	}
	m.Invalid = append(m.Invalid, key)
}

// flag sets *f for the value "1", which is the only one the protocol
// defines; any other value is invalid and leaves *f as it was.
func flag(f *bool, val []byte) bool {
	if string(val) != "1" {
		return false
	}
	*f = true
	return true
}

// number parses a decimal number from 0 to limit: digits only, at most
// 19 of them, no sign and no spaces.
func number(val []byte, limit int) (int, bool) {
	if len(val) == 0 || len(val) > 19 {
		return 0, false
	}
	n, err := strconv.ParseUint(string(val), 10, 63)
	if err != nil || n > uint64(limit) {
		return 0, false
	}
	return int(n), true
}

// String is the message as one line for a log: the keys it set.
func (m *Message) String() string {
	var b []byte
	add := func(on bool, s string) {
		if on {
			b = append(b, s...)
			b = append(b, ' ')
		}
	}
	add(m.Ready, "READY=1")
	add(m.Reloading, "RELOADING=1")
	add(m.Stopping, "STOPPING=1")
	add(m.Barrier, "BARRIER=1")
	add(m.Watchdog, "WATCHDOG=1")
	add(m.WatchdogTrigger, "WATCHDOG=trigger")
	add(m.WatchdogUsec != 0, fmt.Sprintf("WATCHDOG_USEC=%d", m.WatchdogUsec))
	add(m.MainPID != 0, fmt.Sprintf("MAINPID=%d", m.MainPID))
	add(m.ErrnoSet, fmt.Sprintf("ERRNO=%d", m.Errno))
	add(m.StatusSet, "STATUS="+strconv.Quote(m.Status))
	return string(bytes.TrimSuffix(b, []byte{' '}))
}
