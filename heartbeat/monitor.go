package heartbeat

import (
	"container/heap"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of Config.
const (
	// ScanEvery is how often the directory is read whole, as AHM does, in
	// case inotify lost an event (its queue overflowed).
	ScanEvery = time.Second
	// MaxRegistrants bounds the registrants of one monitor: a file past
	// it is refused.
	MaxRegistrants = 1024
)

// Config sets up a Monitor.
type Config struct {
	Dir  string       // the registration directory: owned by root, not writable by others unless sticky
	Log  *slog.Logger // where the AHM lines go
	Scan time.Duration
	Max  int
}

// Kept is one registrant as a live upgrade hands it to the next image:
// its registration, its times and counters, and its two descriptors,
// which stay open across execve.
type Kept struct {
	Pid    int
	File   string // its registration file's name in the directory
	Reg    Registration
	LastNs int64 // CLOCK_MONOTONIC of its last beat (or its registration), ns
	Fired  bool  // its deadline passed and its action was taken, with no beat since
	Beats  uint64
	Missed uint64
	FIFO   int // the read end of its FIFO
	PidFD  int // its pidfd
}

// Handover is what a live upgrade carries of a monitor: its registrants
// and its counters.
type Handover struct {
	Registrants []Kept
	Registered  uint64
	Refused     uint64
	Beats       uint64
	Missed      uint64
}

// Stats is the monitor as the info dump shows it.
type Stats struct {
	Dir         string
	Registered  uint64 // registrations completed
	Refused     uint64 // registration files renamed invalid
	Beats       uint64 // beats read, of every registrant so far
	Missed      uint64 // deadlines missed, of every registrant so far
	Registrants []RegistrantStats
}

// RegistrantStats is one registrant in Stats.
type RegistrantStats struct {
	Pid    int
	Name   string
	Action Action
	Period time.Duration
	Misses int
	Beats  uint64
	Missed uint64
	Since  time.Duration // since its last beat
	Late   bool          // its deadline passed with no beat since
}

// registrant is one registration in force.
type registrant struct {
	Kept
	dueNs int64 // CLOCK_MONOTONIC of its deadline
	at    int   // its index in the deadline heap, or -1
	hup   bool  // its FIFO has no writer left: taken out of the poll set
}

func (r *registrant) logAttrs(extra ...any) []any {
	return append([]any{"pid", r.Pid, "name", r.Reg.Name}, extra...)
}

// dueHeap orders the registrants waiting for a beat by deadline.
type dueHeap []*registrant

func (h dueHeap) Len() int           { return len(h) }
func (h dueHeap) Less(i, j int) bool { return h[i].dueNs < h[j].dueNs }
func (h dueHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].at, h[j].at = i, j
}
func (h *dueHeap) Push(x any) {
	r := x.(*registrant)
	r.at = len(*h)
	*h = append(*h, r)
}
func (h *dueHeap) Pop() any {
	old := *h
	r := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	r.at = -1
	return r
}

// arm sets r's deadline from its last beat.
func (h *dueHeap) arm(r *registrant) {
	r.dueNs = r.LastNs + int64(r.Reg.Grace())
	if r.at >= 0 {
		heap.Fix(h, r.at)
		return
	}
	heap.Push(h, r)
}

// disarm takes r out of the heap, if it is there.
func (h *dueHeap) disarm(r *registrant) {
	if r.at >= 0 {
		heap.Remove(h, r.at)
	}
}

// state is what the poller owns, under Monitor.mu.
type state struct {
	byPid   map[int]*registrant
	byFile  map[string]*registrant
	byFD    map[int]*registrant // by FIFO and by pidfd
	due     dueHeap
	totals  Stats
	pending []string // names inotify reported, for the registrar
}

// Monitor watches one registration directory. Run is its poller, and
// starts its registrar: the goroutine that reads, authenticates and
// registers the files (a look through /proc takes a while with many
// processes, and the poller must not wait for it). Stats, Freeze and Thaw
// may be called from any goroutine.
type Monitor struct {
	cfg Config
	log *slog.Logger
	sys sys

	mu     sync.Mutex
	frozen bool
	thaw   chan struct{}
	st     state

	poke    chan struct{}   // the poller has names pending for the registrar
	tries   map[string]bool // registrar-owned: files that failed to parse once, to retry
	refused atomic.Uint64   // registration files renamed invalid
}

// Stats reports the registrants and the counters.
func (m *Monitor) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := monotonicNs()
	out := m.st.totals
	out.Dir, out.Refused = m.cfg.Dir, m.refused.Load()
	out.Registrants = make([]RegistrantStats, 0, len(m.st.byPid))
	for _, r := range m.st.byPid {
		out.Registrants = append(out.Registrants, RegistrantStats{
			Pid: r.Pid, Name: r.Reg.Name, Action: r.Reg.Action, Period: r.Reg.Period, Misses: r.Reg.Misses,
			Beats: r.Beats, Missed: r.Missed, Since: time.Duration(now - r.LastNs), Late: r.Fired,
		})
	}
	return out
}

// Freeze stops the monitor where it is for a live upgrade: no beat is
// read and no deadline fires until Thaw. It returns every registrant,
// whose descriptors stay open (the caller keeps them across execve), and
// the counters.
func (m *Monitor) Freeze() Handover {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.frozen {
		m.frozen, m.thaw = true, make(chan struct{})
	}
	t := m.st.totals
	h := Handover{Registered: t.Registered, Refused: m.refused.Load(), Beats: t.Beats, Missed: t.Missed}
	h.Registrants = make([]Kept, 0, len(m.st.byPid))
	for _, r := range m.st.byPid {
		h.Registrants = append(h.Registrants, r.Kept)
	}
	return h
}

// Thaw lets a frozen monitor go on (the live upgrade failed).
func (m *Monitor) Thaw() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.frozen {
		m.frozen = false
		close(m.thaw)
	}
}
