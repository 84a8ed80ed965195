package respawn

import (
	"respawn/watch"
)

// WatchConfig turns on the proc events task (watch): processes respawn
// did not start, picked by rules, are watched through the kernel's proc
// connector, and restarted as respawn's own servers when they die
// abnormally (see package watch and README, Watching processes).
type WatchConfig struct {
	Rules      []watch.Rule // from --watch-exe, --watch-name, --watch-regex, --watch-pid
	Files      []string     // --watch-file: armourd configuration files, reread by ReloadWatchFiles
	FileAction watch.Action // the action of the rules read from Files
	Buffer     int          // --watch-buffer: events the ring holds; DefaultWatchBuffer if 0
	Options    watch.Options
}

// DefaultWatchBuffer is the ring's size when --watch-buffer is not given.
const DefaultWatchBuffer = 4096

// WatchedInfo is one watched process, as list, status and the dump show
// it: what was recorded at first sight, for its restart.
type WatchedInfo struct {
	Pid     int      `json:"pid"`
	Name    string   `json:"name"` // comm
	Rule    string   `json:"rule"`
	Action  string   `json:"action"` // restart or notify
	Exe     string   `json:"exe"`
	Argv    []string `json:"argv"`
	Cwd     string   `json:"cwd,omitempty"`
	UID     uint32   `json:"uid"`
	GID     uint32   `json:"gid"`
	Groups  []uint32 `json:"groups,omitempty"`
	Missing []string `json:"missing,omitempty"` // fields /proc would not give, with why
	Since   string   `json:"since"`             // RFC 3339: when respawn first saw it
}

// WatchDump is the watch task's state in the dump.
type WatchDump struct {
	Rules    []string      `json:"rules"`
	Watched  []WatchedInfo `json:"watched"`
	Buffer   int           `json:"buffer"`           // the ring's size
	Dropped  uint64        `json:"dropped"`          // events dropped by a full ring, in all
	Overruns uint64        `json:"overruns"`         // socket overruns (ENOBUFS), in all
	RcvBuf   int           `json:"rcvbuf"`           // the socket's receive buffer, bytes
	Masked   bool          `json:"masked"`           // the kernel filters by event type (6.6+)
	Filter   bool          `json:"bpf"`              // the BPF filter is attached
	State    string        `json:"state"`            // the task's state
	Reason   string        `json:"reason,omitempty"` // why the task is BURIED, if it is
}

// The operators' requests on watching; each must run on the event loop.

// Watched lists the watched processes, by pid.
func (s *Supervisor) Watched() []WatchedInfo { return nil }

// WatchRules lists the rules in force, as Rule.String gives them.
func (s *Supervisor) WatchRules() []string { return nil }

// AddWatch adds a rule at run time and applies it to the running
// processes at once (a /proc scan); it returns how many processes the
// rule picked up. A pid rule for a pid that does not exist is an error,
// and so is a rule already in force, or any rule when the watch task is
// not running (it says why).
func (s *Supervisor) AddWatch(r watch.Rule) (int, error) { return 0, errNoWatch }

// Unwatch removes the rule given as Rule.String or ParseRule reads it, or,
// for a bare pid, stops watching that process whatever rule picked it
// (and removes its pid rule). It returns how many processes are no longer
// watched.
func (s *Supervisor) Unwatch(rule string) (int, error) { return 0, errNoWatch }

// ReloadWatchFiles rereads every --watch-file and replaces the rules they
// gave; it returns the rules added and removed. A file that cannot be
// read or parsed changes nothing, and is the error.
func (s *Supervisor) ReloadWatchFiles() (added, removed int, err error) { return 0, 0, errNoWatch }
