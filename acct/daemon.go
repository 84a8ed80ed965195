package acct

import (
	"errors"
	"log/slog"
	"sync"
	"time"
)

// atopacctd's protocol (atop's atopacctd.h), which an unmodified atop
// follows to read the shadow files.
const (
	DefaultDir    = "/run"           // PACCTDIR
	SourceName    = "pacct_source"   // the file the kernel appends to, in Dir
	ShadowDirName = "pacct_shadow.d" // the shadow files' directory, in Dir
	CurrentName   = "current"        // in the shadow directory: "SEQ/MAXREC"
	ShadowFormat  = "%010d.paf"      // a shadow file's name from its sequence

	MaxShadowRec  = 10000   // records in one shadow file
	MaxSourceSize = 1 << 20 // the source is truncated once past this

	PublicKey   = 1071980 // 2 semaphores, 0666: [0] 100 - clients, [1] a lock
	PrivateKey  = 1071979 // 1 semaphore, 0600: daemons running (at most 1)
	PublicTotal = 100     // semaphore 0's value with no client

	// atop's own accounting, when it found no daemon: semaphore 1 of this
	// set is below 100 while an atop has switched accounting on itself.
	AtopKey = 3121959

	GCInterval = 60 * time.Second // shadow files unused by readers removed
	NoRecord   = time.Hour        // no record this long: switch on again
)

// Config is what Start needs. Zero values take the defaults above.
type Config struct {
	Dir        string        // holds SourceName and ShadowDirName
	MaxRecs    int           // records per shadow file
	MaxSource  int64         // source size that triggers its truncation
	GCInterval time.Duration // how often unused shadow files are removed
	NoRecord   time.Duration // quiet this long: truncate and switch on again
	Log        *slog.Logger  // the daemon's own lines (skips, gc, re-enable)
}

// Refusals: Check and Start wrap one of these, with the detail (the
// path, the semaphore, the percentage) in the message: one line.
var (
	ErrRunning     = errors.New("acct: atopacctd or another respawn --acct is already running")
	ErrOtherActive = errors.New("acct: process accounting is already on")
	ErrUnsafeDir   = errors.New("acct: unsafe directory")
	ErrFull        = errors.New("acct: file system over 95% full")
)

// State is what a live upgrade carries to the next image, beside the two
// descriptors Files returns: with it Adopt goes on where this image
// stopped, so that no record is lost or copied twice.
type State struct {
	Dir        string
	RecSize    int    // Size (v3 and v2 records alike); 0 before the first record
	SourceOff  int64  // bytes of the source read (and copied or skipped)
	Seq        uint64 // the current shadow file's sequence number
	Oldest     uint64 // the oldest shadow file not yet removed
	ShadowRecs int64  // records in the current shadow file
	Busy       bool   // clients were seen: shadow files are being written
	Skipped    uint64 // records skipped while the file system is full
	LastRecNs  int64  // CLOCK_REALTIME of the last record read, ns
	LastGCNs   int64  // CLOCK_REALTIME of the last gc, ns
	Copied     uint64 // records copied to shadow files since Start
}

// Stats is what the dump and respawnctl show of the daemon.
type Stats struct {
	Dir       string
	Clients   int    // atop clients: 100 - public semaphore 0
	Seq       uint64 // current shadow file
	Oldest    uint64
	Records   uint64 // read from the source since Start
	Copied    uint64 // copied to shadow files since Start
	Skipped   uint64 // skipped (file system full) in the current episode
	Truncates uint64 // times the source was truncated
	Reenables uint64 // times accounting was switched on again
	Full      bool   // writing is suspended: file system over 95% full
	Bad       uint64 // 64-byte blocks of the source that were no record
}

// Daemon is respawn's atopacctd: it owns the kernel's process accounting,
// the source file and the shadow files. Its methods are safe for
// concurrent use (one mutex): the acct task's goroutine calls Pump and
// Tick, the event loop calls Want, Take, Stats and State.
type Daemon struct {
	mu  sync.Mutex
	cfg Config
	st  State

	dir       int // Dir
	source    int // Dir/pacct_source, read
	shadow    int // the current shadow file, written
	shadowDir int // Dir/pacct_shadow.d, for every name in it
	priv, pub int // the semaphore sets

	pid     int               // this process: its records are acct(2)'s own
	peekOff int64             // source bytes Take has looked at
	wants   map[int]time.Time // pid -> start, for Take
	kept    map[int]Record    // pid -> its record, read
	recent  map[int]Record    // pid -> a record read before any Want (recentMax)
	recentQ []int             // recent's pids, oldest first
	buf     []byte            // one read of the source
	stats   Stats             // counters beside st
	garbage bool              // a bad record was logged
	frozen  bool              // State was taken: no more reads
	raised  bool              // the private semaphore is ours to lower
	on      bool              // accounting was switched on by this daemon
	stopped bool              // Stop (or Close) ran
}
