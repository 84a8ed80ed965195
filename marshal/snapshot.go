// Package marshal is the snapshot of the whole supervisor that a live
// upgrade carries across execve: every server and task record, the flags,
// and the descriptors kept open for the new image.
//
// A snapshot is msgpack (github.com/vmihailenco/msgpack/v5) with every
// struct written as a map keyed by the short names in its msgpack tags.
// Those keys are the wire format: never rename or reuse one. A field added
// later gets a new key; older snapshots simply lack it and decode to its
// zero value, and a binary skips keys it does not know. A change that old
// readers would misread instead bumps Version.
//
// Decode treats its input as untrusted. It refuses input over MaxSize, walks
// the raw bytes once (scan.go) to refuse any header that declares more than
// the input holds, nesting deeper than a few levels, and the sizes the schema
// never needs, all before msgpack allocates anything; then it decodes into
// typed structs only and range-checks every field.
package marshal

// Version is the snapshot version this binary writes.
const Version = 1

// MinVersion is the oldest snapshot version this binary reads.
const MinVersion = 1

// versionKey is Snapshot.Version's key: every version of the snapshot is a
// map that holds it.
const versionKey = "v"

// The limits Decode and Encode enforce.
const (
	MaxSize       = 64 << 20 // bytes in an encoded snapshot
	MaxRecords    = 100000   // servers and tasks
	MaxArgv       = 65536    // arguments of one server
	MaxString     = 1 << 20  // bytes in any one string
	MaxFDs        = 2112     // kept descriptors: 64, and a FIFO and a pidfd per heartbeat registrant
	OutFDs        = 2        // output descriptors of one captured server
	MinFD         = 3        // the lowest kept descriptor: 0-2 are stdio
	MaxFD         = 65535    // the highest kept descriptor
	MaxPid        = 1<<22 - 1
	MaxSignal     = 64
	MaxShort      = 1 << 16 // short lives in a row carried; more means as many
	MaxFast       = 1 << 16 // fast deaths in a row carried (retries used)
	MaxEvents     = 1024    // transitions carried for events clients
	MaxWatchRules = 8192    // watch rules
	MaxWatched    = 100000  // watched processes
	MaxEnv        = 65536   // environment entries of one process
	MaxGroups     = 65536   // supplementary groups of one process
	// MaxEventSeq bounds Snapshot.EventSeq, far from wrapping around.
	MaxEventSeq = 1 << 62
	// MaxGeneration bounds Snapshot.Generation: a new image counts one
	// more, up to this value and no further.
	MaxGeneration = 1<<31 - 1
	// MaxRestarts bounds Record.Restarts: the supervisor's count saturates
	// there.
	MaxRestarts = 1<<31 - 1
)

// The values of Record.State, as respawn.State numbers them.
const (
	stateUnborn = iota
	stateAlive
	stateDead
	stateBuried
	stateCremated
	numStates
)

// CanRead reports whether this binary decodes snapshots of the given
// version. The pre-flight check of a live upgrade asks the new binary this
// with the old binary's Version before the old one commits to execve.
func CanRead(version int) bool {
	return version >= MinVersion && version <= Version
}

// Snapshot is the whole supervisor at the moment of a live upgrade.
type Snapshot struct {
	// Version is the version the snapshot was written as. Encode always
	// writes Version, whatever this field holds; Decode returns what it read.
	Version       int      `msgpack:"v"`
	Generation    int      `msgpack:"gen"`      // upgrades this process has been through
	LastUpgradeNs int64    `msgpack:"upgraded"` // CLOCK_REALTIME of the last upgrade, ns
	StartedNs     int64    `msgpack:"started"`  // CLOCK_REALTIME when the supervisor first started, ns
	Flags         Flags    `msgpack:"flags"`
	Records       []Record `msgpack:"recs"`    // servers, then tasks, in Index order
	FDs           []FD     `msgpack:"fds"`     // the descriptors kept across execve
	DroppedEvents uint64   `msgpack:"dropped"` // process events lost to a full ring so far

	// Logs are the log bytes the old image had taken and not yet written
	// (its reader was slow or stalled), at most MaxString; the new image
	// writes them first. LogsDropped counts the log writes the old image
	// dropped and had not reported yet.
	Logs        []byte `msgpack:"logs"`
	LogsDropped uint64 `msgpack:"logs_dropped"`

	// EventSeq is the sequence number of the last state transition, and
	// Events the latest transitions (at most MaxEvents, numbered one by
	// one up to EventSeq), so that an events client that reconnects
	// after the upgrade is sent what it missed.
	EventSeq uint64  `msgpack:"event_seq"`
	Events   []Event `msgpack:"events"`

	// Systemd is respawn's side of systemd's notification protocol, if
	// respawn runs with NOTIFY_SOCKET.
	Systemd *Systemd `msgpack:"systemd,omitempty"`

	// Watch is the proc events task's state, if it runs.
	Watch *Watch `msgpack:"watch,omitempty"`

	// Acct is the process accounting daemon's state, if it runs: its
	// source and current shadow file are among FDs.
	Acct *Acct `msgpack:"acct,omitempty"`

	// Watchdog is the hardware watchdog task's state, if it has the
	// device open: the device is among FDs.
	Watchdog *Watchdog `msgpack:"watchdog,omitempty"`
	// Heartbeat is the heartbeat task's state, if it runs: its
	// registrants' descriptors are among FDs.
	Heartbeat *Heartbeat `msgpack:"heartbeat,omitempty"`
}

// Event is one state transition of a record, as respawn.Transition holds
// it.
type Event struct {
	Seq    uint64 `msgpack:"seq"`
	Index  int    `msgpack:"i"`
	Name   string `msgpack:"name"`
	Task   bool   `msgpack:"task"`
	From   int    `msgpack:"from"` // a Record.State
	To     int    `msgpack:"to"`
	Pid    int    `msgpack:"pid"`
	Exit   Exit   `msgpack:"exit"`
	TimeNs int64  `msgpack:"time"` // CLOCK_REALTIME, ns
	// An event of a watched process (respawn.Transition.Watch).
	Watch string `msgpack:"watch,omitempty"`
	Rule  string `msgpack:"rule,omitempty"`
	Lost  uint64 `msgpack:"lost,omitempty"`
	// A death's accounting record read after its transition
	// (respawn.Transition.Accounted).
	Accounted bool `msgpack:"accounted,omitempty"`
}

// Flags are the command-line settings the supervisor runs with.
type Flags struct {
	IntervalNs    int64  `msgpack:"interval"`
	StopTimeoutNs int64  `msgpack:"stop_timeout"`
	LeaveRunning  bool   `msgpack:"leave_running"`
	Linger        bool   `msgpack:"linger"`
	LogFormat     string `msgpack:"log_format"`
	LogLevel      string `msgpack:"log_level"`
	Control       string `msgpack:"control"`
}

// Record is one server or internal task, as respawn.Server holds it.
// A task has no Argv and no Pid. Pid is set exactly while a server is ALIVE.
type Record struct {
	Index int      `msgpack:"i"`    // 1-based position in Snapshot.Records
	Name  string   `msgpack:"name"` // unique among all records
	Task  bool     `msgpack:"task"`
	Argv  []string `msgpack:"argv"`
	// State is a respawn.State: 0 UNBORN 1 ALIVE 2 DEAD 3 BURIED 4
	// CREMATED. It is an int, not the uint8 respawn keeps, so that a value
	// too wide for a State is decoded whole and refused, not truncated.
	State int `msgpack:"state"`
	Pid   int `msgpack:"pid"`
	// Pgid is the process group of the current or last process: its own
	// pid, as respawn starts every server in a group of its own. Never 1,
	// and never 0 while ALIVE. The new image reads the live value from
	// /proc rather than trusting this one.
	Pgid int `msgpack:"pgid"`
	// StartNs is the raw CLOCK_MONOTONIC of the last start, ns. That clock
	// is system-wide, so it still means the same after execve.
	StartNs   int64 `msgpack:"start"`
	StartRTNs int64 `msgpack:"start_rt"` // CLOCK_REALTIME of the last start, ns
	// ProcStart is field 22 (starttime, clock ticks since boot) of
	// /proc/Pid/stat when the snapshot was taken. The new image compares it
	// with the live value to refuse a pid the kernel has since reused. It
	// is set for every ALIVE server: one without it cannot be verified,
	// and the snapshot is refused.
	ProcStart uint64 `msgpack:"proc_start"`
	Restarts  int    `msgpack:"restarts"`
	Started   bool   `msgpack:"started"`
	Last      Exit   `msgpack:"last"`
	Stopping  bool   `msgpack:"stopping"` // an operator asked it to stop
	Restart   bool   `msgpack:"restart"`  // an operator asked it to restart: its death starts it
	// Short counts the lives in a row shorter than the pacing threshold
	// (and fork retries): the next paced delay follows from it. DueNs is
	// the raw CLOCK_MONOTONIC at which a paced DEAD server respawns, or 0.
	Short int   `msgpack:"short"`
	DueNs int64 `msgpack:"due"`
	// Fast counts the deaths in a row sooner than the interval: the
	// retries used of the server's restart policy. A DEAD record with it
	// set and DueNs is waiting for its retry; a BURIED one spent them.
	Fast int `msgpack:"fast"`
	// KillNs is the raw CLOCK_MONOTONIC at which an ALIVE server an
	// operator stopped is SIGKILLed if it has not ended, or 0. It is left
	// out of Digest, as every field added after it was fixed.
	KillNs int64 `msgpack:"kill"`
	// Out are the read ends of a captured server's output pipes, kept
	// across execve: stdout's, then stderr's. Empty when its output is not
	// captured.
	Out []int `msgpack:"out,omitempty"`
	// Adopted is set for a server respawn took over from a watched
	// process: how it starts, as /proc showed the process. (A server of
	// the command line takes its settings from the command line.)
	Adopted *Adopted `msgpack:"adopted,omitempty"`
	// Notify is what an ALIVE server said over sd_notify (readiness,
	// status, its watchdog's deadline), or nil. The socket is the kept
	// descriptor whose role is "notify".
	Notify *Notify `msgpack:"notify,omitempty"`
}

// Adopted is how a server taken over from a watched process starts.
type Adopted struct {
	Rule    string   `msgpack:"rule"`
	Exe     string   `msgpack:"exe"`
	Cwd     string   `msgpack:"cwd"`
	Env     []string `msgpack:"env"`
	EnvSet  bool     `msgpack:"env_set"`
	CredSet bool     `msgpack:"cred_set"`
	UID     uint32   `msgpack:"uid"`
	GID     uint32   `msgpack:"gid"`
	Groups  []uint32 `msgpack:"groups"`
}

// Watch is the proc events task's state: the rules in force (the command
// line's, as changed at run time), the processes watched, and counters.
// The socket is the kept descriptor whose role is "watch".
type Watch struct {
	Rules    []WatchRule `msgpack:"rules"`
	Procs    []WatchProc `msgpack:"procs"`
	Overruns uint64      `msgpack:"overruns"`
	// Unwatched are the processes an operator unwatched by pid, by start
	// time: no rule picks them up again while they run.
	Unwatched []WatchPid `msgpack:"unwatched,omitempty"`
}

// WatchPid is a process by pid and start time (/proc/PID/stat field 22).
type WatchPid struct {
	Pid       int    `msgpack:"pid"`
	StartTime uint64 `msgpack:"start"`
}

// WatchRule is a rule as watch.Rule.String writes it, and the file it was
// read from, if any.
type WatchRule struct {
	Rule string `msgpack:"rule"`
	File string `msgpack:"file"`
}

// WatchProc is one watched process as it was first seen.
type WatchProc struct {
	Pid       int      `msgpack:"pid"`
	StartTime uint64   `msgpack:"start"` // /proc/PID/stat field 22
	Rule      int      `msgpack:"rule"`  // index in Watch.Rules
	Comm      string   `msgpack:"comm"`
	Exe       string   `msgpack:"exe"`
	Argv      []string `msgpack:"argv"`
	Cwd       string   `msgpack:"cwd"`
	Env       []string `msgpack:"env"`
	UID       uint32   `msgpack:"uid"`
	GID       uint32   `msgpack:"gid"`
	Groups    []uint32 `msgpack:"groups"`
	Pgid      int      `msgpack:"pgid"`
	Missing   []string `msgpack:"missing"`
	SeenNs    int64    `msgpack:"seen"` // CLOCK_REALTIME when first seen
}

// Exit is how a record last ended, as respawn.Exit holds it. The zero Exit
// means it has not ended yet.
type Exit struct {
	Set    bool   `msgpack:"set"`
	Code   int    `msgpack:"code"` // exit status, 0-255
	Signal int    `msgpack:"sig"`  // the signal that killed it, or 0
	Core   bool   `msgpack:"core"`
	Err    string `msgpack:"err"`            // a spawn error, or a task's error or panic
	Acct   *Death `msgpack:"acct,omitempty"` // its accounting record (--acct), or nil
}

// FD is a descriptor kept open across execve, named by what it is for
// ("control", "proc", "watchdog", ...).
type FD struct {
	Role string `msgpack:"role"`
	FD   int    `msgpack:"fd"`
}
