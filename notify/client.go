package notify

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// MaxSend is the largest message Client.Send sends, in bytes: systemd
// reads a notification into a buffer of this size and drops a longer one
// whole, so a longer message is refused here, where the caller sees why.
const MaxSend = 4096

// maxClientAddr is the room for a socket's name in struct sockaddr_un, after
// the terminating NUL of a path (or the leading NUL of an abstract name).
const maxClientAddr = 107

// Client sends notifications (sd_notify messages: READY=1, STATUS=...,
// WATCHDOG=1) to one datagram socket, the way systemd's sd_notify does:
// one datagram per message, from an unbound socket of its own. A send
// never waits: a receiver that does not read, or a socket nobody binds,
// is an error the caller may log and carry on from.
//
// Send may be called from several goroutines at once; Close must not run
// beside a Send.
type Client struct {
	addr string // as NOTIFY_SOCKET gives it: a path, or @ and an abstract name
	conn clientConn
}

// NewClient returns a client of the socket at addr: an absolute path, or
// "@" and a name in the abstract namespace (NOTIFY_SOCKET's two forms).
// It opens a socket of its own, closed on exec; the receiving side need
// not exist yet.
func NewClient(addr string) (*Client, error) {
	if err := checkClientAddr(addr); err != nil {
		return nil, err
	}
	return newClient(addr)
}

// ClientFromEnv returns a client of the socket named by NOTIFY_SOCKET in
// getenv's environment (os.Getenv), or nil and no error when it is unset
// or empty: without NOTIFY_SOCKET nothing is ever sent.
func ClientFromEnv(getenv func(string) string) (*Client, error) {
	addr := getenv("NOTIFY_SOCKET")
	if addr == "" {
		return nil, nil
	}
	return NewClient(addr)
}

// Addr is the socket's address as NewClient was given it.
func (c *Client) Addr() string { return c.addr }

// Send sends msg as one datagram, without waiting: the receiver's queue
// full, or no receiver, is an error that says which. msg is one or more
// lines VAR=VALUE, at most MaxSend bytes.
func (c *Client) Send(msg string) error {
	if len(msg) == 0 || len(msg) > MaxSend {
		return fmt.Errorf("notify: send to %s: a message of %d bytes, want 1 to %d", c.addr, len(msg), MaxSend)
	}
	return c.conn.send(c.addr, msg)
}

// Close closes the client's socket.
func (c *Client) Close() error { return c.conn.close() }

// checkClientAddr refuses an address NewClient cannot send to: sd_notify's
// "vsock:" form, a relative path, one too long for sockaddr_un, a NUL.
func checkClientAddr(addr string) error {
	switch {
	case strings.HasPrefix(addr, "vsock:"):
		return fmt.Errorf("notify: NOTIFY_SOCKET %.120q: vsock is not supported", addr)
	case addr == "@" || !strings.HasPrefix(addr, "/") && !strings.HasPrefix(addr, "@"):
		return fmt.Errorf("notify: NOTIFY_SOCKET %.120q: want an absolute path, or @ and an abstract name", addr)
	case len(addr) > maxClientAddr:
		return fmt.Errorf("notify: NOTIFY_SOCKET %.120q: %d bytes, over the %d a socket name holds", addr, len(addr), maxClientAddr)
	case strings.IndexByte(addr, 0) >= 0:
		return fmt.Errorf("notify: NOTIFY_SOCKET %.120q: a NUL byte in it", addr)
	}
	return nil
}

// ErrWatchdogValue is the error WatchdogPeriod wraps for a value that is
// not a number it takes.
var ErrWatchdogValue = errors.New("notify: bad watchdog variable")

// maxWatchdogUsec bounds WATCHDOG_USEC: systemd's WatchdogSec is far
// below it, and the period stays a time.Duration with room to spare.
const maxWatchdogUsec = 1 << 40 // about 12.7 days

// WatchdogPeriod is sd_watchdog_enabled: the keepalive timeout systemd
// asks of this process, from the values of WATCHDOG_USEC and WATCHDOG_PID
// ("" when unset), self being this process's pid. It is 0 and no error
// when usec is unset, or when pid is set and names another process (the
// variables were meant for a parent). A keepalive (WATCHDOG=1) is due
// well within the period: sd_watchdog_enabled(3) says every half of it.
func WatchdogPeriod(usec, pid string, self int) (time.Duration, error) {
	if usec == "" {
		return 0, nil
	}
	u, err := strconv.ParseUint(usec, 10, 64)
	if err != nil || u == 0 || u > maxWatchdogUsec {
		return 0, fmt.Errorf("%w: WATCHDOG_USEC=%.40q: want 1 to %d microseconds", ErrWatchdogValue, usec, uint64(maxWatchdogUsec))
	}
	if pid != "" {
		p, err := strconv.ParseUint(pid, 10, 31)
		if err != nil || p == 0 {
			return 0, fmt.Errorf("%w: WATCHDOG_PID=%.40q: want a pid", ErrWatchdogValue, pid)
		}
		if int(p) != self {
			return 0, nil
		}
	}
	return time.Duration(u) * time.Microsecond, nil
}
