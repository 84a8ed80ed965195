package respawn

import (
	"syscall"
	"time"
)

// Settings are one server's own settings, given in its group before the
// program: { @web --stop-signal=QUIT --user=www-data nginx ... }. The zero
// value of each field means "as the global flag says" (or the built-in
// default), so a group without settings behaves as every server always
// has. The command-line grammar that fills them is in cmd/respawn.
type Settings struct {
	// Stopping.
	StopSignal   syscall.Signal // sent to stop the server; 0: SIGTERM
	StopTimeout  time.Duration  // from the stop signal to SIGKILL; 0: the global --stop-timeout; StopAtOnce: SIGKILL at once
	KillMode     KillMode       // who hears the stop signal: the group (default), the main pid, or mixed
	ReloadSignal syscall.Signal // sent by respawnctl reload; 0: SIGHUP

	// Restart policy. Retries is the number of restarts allowed after a
	// death sooner than --interval before the server is buried; RetriesSet
	// says it was given for this server (0 is a value: bury at once).
	Retries    int
	RetriesSet bool

	// Credentials, setpriv style: User sets the uid and, unless Group or
	// Groups is given, the user's primary group and supplementary groups.
	// The names are resolved when the command line is parsed.
	User      string   // as given, for messages; "" keeps respawn's
	UID       uint32   // valid when User != ""
	Group     string   // as given; "" for the user's primary group, or respawn's
	GID       uint32   // valid when Group != "" or User != ""
	Groups    []uint32 // supplementary groups; nil: the user's (with User), or none given
	GroupsSet bool     // --groups was given (possibly empty: clear them)

	// Process environment.
	Cwd string // working directory; "": respawn's
	// Environ, when EnvironSet, is the whole environment in place of
	// respawn's (a watched process's, as recorded, for its restart).
	Environ    []string
	EnvironSet bool
	Env        []string // KEY=VALUE additions, applied after EnvFiles, last one wins
	UnsetEnv   []string // KEYs removed from respawn's environment
	EnvFiles   []string // files of KEY=VALUE lines, read at each start
	Umask      uint32   // the file mode creation mask; valid when UmaskSet
	UmaskSet   bool
	Nice       int // niceness added; valid when NiceSet
	NiceSet    bool

	// Resource limits (setrlimit), each applied only when given.
	Limits []Limit

	// Output: how the server's stdout and stderr reach the log.
	Output  Output // inherit or capture; 0: the global --output
	LogFile string // also write the captured lines to this file; "": none
	LogMax  int64  // rotate LogFile when it passes this many bytes; 0: the default
	LogKeep int    // rotated files kept; 0: the default

	// sd_notify (notify.go). Ready holds the groups after this one until
	// it sends READY=1, or for ReadyTimeout (DefaultReadyTimeout if 0).
	// Watchdog is systemd's WatchdogSec: a server that does not send
	// WATCHDOG=1 within it is sent SIGABRT; 0: none.
	Ready        bool
	ReadyTimeout time.Duration
	Watchdog     time.Duration
}

// KillMode says who hears a server's stop signal.
type KillMode uint8

const (
	KillGroup KillMode = iota // the server's process group (default)
	KillPid                   // the main process only, as tini, s6 and runit do
	KillMixed                 // the main process; SIGKILL at the timeout goes to the group
)

// Output says where a server's stdout and stderr go.
type Output uint8

const (
	OutputDefault Output = iota // as the global --output says
	OutputInherit               // respawn's own stdout and stderr
	OutputCapture               // pipes respawn reads; lines tagged with the server's name
)

// Limit is one resource limit: Resource is a RLIMIT_* constant.
type Limit struct {
	Resource int
	Cur, Max uint64
}
