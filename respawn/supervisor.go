package respawn

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strconv"
	"time"

	"respawn/capture"
)

// Exit statuses of the supervisor.
const (
	ExitClean   = 0 // every server ended cleanly
	ExitUnclean = 1 // some server did not end cleanly (killed, buried, failed)
	ExitUsage   = 2 // bad command line; nothing was started
	ExitAborted = 3 // start-up did not finish within --alarm
)

// Config holds the supervisor's settings. The zero value of each field is
// its default.
type Config struct {
	Interval     time.Duration // do-not-resuscitate period; 5 s if zero
	Retries      int           // restarts after a death sooner than Interval before burial; 0: bury at once (the command line's default is 3)
	StopTimeout  time.Duration // SIGTERM to SIGKILL on shutdown; DefaultStopTimeout if zero; StopAtOnce: no SIGTERM
	Alarm        time.Duration // abort if start-up takes longer; off if zero
	LeaveRunning bool          // on shutdown, leave servers running
	Linger       bool          // keep running when no server is left
	Log          *slog.Logger  // slog.Default() if nil
	Dump         io.Writer     // where SIGUSR1 writes the info dump; stderr if nil
	DumpJSON     bool          // write the dump as one JSON line
	Flush        func()        // if set, drains Log and Dump, bounded in time, before an --alarm abort's exit

	// ExitWhenBuried ends supervision as soon as no server can run and
	// one is buried (a container's PID 1; see nothingCanRun).
	ExitWhenBuried bool

	// OnExit is how an --alarm abort ends the machine when respawn is
	// its PID 1 (see End).
	OnExit OnExit

	// Watch, if set, runs the proc events task "watch" (see WatchConfig).
	Watch *WatchConfig

	// Acct, if set, runs the process accounting task "acct" (see
	// AcctConfig): respawn is atop's atopacctd, and each death of a
	// server carries its accounting record.
	Acct *AcctConfig

	// Watchdog, if set, runs the hardware watchdog task "watchdog" (see
	// WatchdogConfig).
	Watchdog *WatchdogConfig
	// Heartbeat, if set, runs the heartbeat task "heartbeat" (see
	// HeartbeatConfig): AHM's registrations and beats.
	Heartbeat *HeartbeatConfig

	// Require names the servers that must not be BURIED or CREMATED for
	// respawn to call itself healthy, and pet a watchdog (see unhealthy).
	Require []string

	// Carry, if set, is the output behind Log and Dump: a live upgrade
	// takes what it has not written yet into the snapshot, for the new
	// image to write first, instead of waiting for a slow reader.
	Carry LogCarrier

	// Signals, if set, are the channels already receiving the handled
	// signals (see internal/earlysig); otherwise New makes them and Run
	// routes the signals to them.
	Signals *Signals

	// The live upgrade: the binary to re-execute (its path on disk, not
	// /proc/self/exe), the arguments after argv[0] that started this
	// supervisor (flags and groups), the descriptors to keep, and the
	// signals that arrived during the previous upgrade, to handle first.
	Binary        string
	Args          []string
	Keep          []KeptFD
	Pending       []os.Signal
	SnapshotBytes int // the size of the snapshot restored from, for the log

	// Capture reads the output of the servers whose Output is capture
	// (Output is the default for servers that do not say); nil: every
	// server inherits respawn's stdout and stderr.
	Capture *capture.Hub
	Output  Output

	// Version is this binary's version, for logs and the dump.
	Version string

	// Flags as given, recorded in the upgrade snapshot.
	LogFormat, LogLevel, Control string
}

// StopAtOnce as Config.StopTimeout makes shutdown SIGKILL every server at
// once, without SIGTERM or grace (--stop-timeout=0). Any negative value
// means the same.
const StopAtOnce time.Duration = -1

// LogCarrier is log output whose unwritten bytes a live upgrade carries
// across execve. Handover stops its writing and returns those bytes and
// the count of writes it dropped and has not reported; Resume starts it
// again when the execve fails.
type LogCarrier interface {
	Handover() (pending []byte, dropped uint64)
	Resume()
}

// KeptFD is a descriptor kept open across a live upgrade, by role.
type KeptFD struct {
	Role string
	FD   int
}

// Spec is a server as given on the command line.
type Spec struct {
	Name string   // explicit name, or "" for the program's base name
	Argv []string // the command line; Argv[0] is looked up in $PATH

	Settings Settings // the server's own settings, from its group
}

// Supervisor runs servers and tasks. Build it with New, add tasks with
// AddTask, then call Run once.
type Supervisor struct {
	cfg     Config
	log     *slog.Logger
	recs    []*Server // servers, then tasks, by Index-1
	byName  map[string]*Server
	suffix  map[string]int // the next -N to try for a taken name
	byPid   map[int]*Server
	env     []string
	pid1    bool
	started int64 // CLOCK_REALTIME of Run, ns

	ctx      context.Context // cancelled on shutdown; tasks derive from it
	cancel   context.CancelFunc
	sig      *Signals
	taskDone chan taskExit
	reqs     chan request

	stopping   bool
	stopSignal os.Signal
	stopC      <-chan time.Time // nil unless a stop deadline is armed
	killed     bool             // SIGKILL already sent to what was left
	noChildren bool             // the last wait4 said ECHILD
	reapMore   bool             // the last reap stopped at its batch: wait4 may have more

	stops        stopDeadlines // servers' SIGKILL deadlines and the shutdown's, on one timer (stopC)
	buriedStatus int           // the exit status when --exit-when-buried ended supervision, or 0

	// due are DEAD records waiting for their paced respawn; the timer is
	// armed for the earliest of them (dueAt), and off when there is none.
	due      []*Server
	dueTimer *time.Timer
	dueC     <-chan time.Time
	dueAt    int64

	subs    []*Subscriber
	seq     uint64  // the last transition's sequence number
	history history // the latest transitions, for events clients that resume
	view    *view   // the records as Snapshot shows them; nil after a change
	logq    []pendingLog

	// unstamped are servers spawned whose /proc start time is not yet
	// recorded; the loop records them when it has nothing else to do.
	unstamped []*Server
	alarm     *startup    // the start-up phase under --alarm, or nil
	ahead     *ChildStats // stats of the children read ahead by a new image, or nil

	upgrade *upgrading // the live upgrade under way, or nil
	watch   *watcher   // the proc events task's state, or nil
	acct    *accounter // the process accounting task's state, or nil
	wd      *watchdog  // the hardware watchdog task's state, or nil
	notify  *notifier  // the servers' sd_notify socket, set by Run
	hb      *beater    // the heartbeat task's state, or nil

	restored      bool  // rebuilt by Restore or Recover after an upgrade
	generation    int   // upgrades this process has been through
	lastUpgrade   int64 // CLOCK_REALTIME of the last one, ns
	droppedEvents uint64

	systemd underSystemd // systemd's notification socket (NOTIFY_SOCKET), if respawn has one
}

// New returns a supervisor for the servers in specs, in that order.
func New(cfg Config, specs []Spec) *Supervisor {
	if cfg.Interval <= 0 {
		cfg.Interval = 5 * time.Second
	}
	if cfg.StopTimeout == 0 {
		cfg.StopTimeout = DefaultStopTimeout
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Dump == nil {
		cfg.Dump = os.Stderr
	}
	s := &Supervisor{
		cfg:      cfg,
		log:      cfg.Log,
		byPid:    make(map[int]*Server, len(specs)),
		byName:   make(map[string]*Server, len(specs)),
		suffix:   map[string]int{},
		sig:      cfg.Signals,
		taskDone: make(chan taskExit, 8),
		reqs:     make(chan request),
	}
	if s.sig == nil {
		s.sig = NewSignals()
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	given := givenNames(specs)
	for _, sp := range specs {
		name := sp.Name
		if name == "" {
			name = s.uniqueName(DefaultName(sp.Argv[0]), given)
		}
		s.add(&Server{Name: name, Argv: sp.Argv, Set: sp.Settings})
	}
	s.addWatchTask()
	s.addAcctTask()
	s.addWatchdogTask()
	s.addHeartbeatTask()
	return s
}

// givenNames are the names given with @NAME, which default names keep
// clear of: in { web } { @web sleep 1 }, "web" is the second server's, as
// the operator wrote it, and the first is named web-2.
func givenNames(specs []Spec) map[string]bool {
	given := map[string]bool{}
	for _, sp := range specs {
		if sp.Name != "" {
			given[sp.Name] = true
		}
	}
	return given
}

// AddTask adds an internal task. A task with keep set keeps the supervisor
// running while it is not cremated, as a server does. AddTask must be
// called before Run.
func (s *Supervisor) AddTask(name string, keep bool, fn TaskFunc) {
	s.add(&Server{Name: name, task: fn, keep: keep})
}

func (s *Supervisor) add(r *Server) {
	r.Index = len(s.recs) + 1
	if r.Name == "" {
		r.Name = DefaultName(r.Argv[0])
	}
	r.Name = s.uniqueName(r.Name, nil)
	s.recs = append(s.recs, r)
	s.byName[r.Name] = r
}

// uniqueName returns name, or name-2, name-3... if it is taken or in
// given. The next suffix to try is kept per name, so that many servers of
// one program cost no more than one each.
func (s *Supervisor) uniqueName(name string, given map[string]bool) string {
	if s.byName[name] == nil && !given[name] {
		return name
	}
	i := max(s.suffix[name], 2)
	for s.byName[name+"-"+strconv.Itoa(i)] != nil || given[name+"-"+strconv.Itoa(i)] {
		i++
	}
	s.suffix[name] = i + 1
	return name + "-" + strconv.Itoa(i)
}

// Run starts every server and task and supervises them until the end: a
// shutdown signal or request, or (without Linger) every server cremated
// by its own ending, none by an operator's stop. It
// returns the supervisor's exit status. Run must be called once, and the
// goroutine that calls it becomes the event loop.
func (s *Supervisor) Run() int {
	defer s.acctStop() // the task stopped it already, unless the loop panicked
	if err := s.setup(); err != nil {
		s.log.Error("respawn: set-up failed", "err", err)
		return ExitAborted
	}
	s.notifyOpen()
	if s.restored {
		s.resume()
		s.systemdReady()
		return s.loop()
	}
	s.started = realtimeNs()
	s.log.Info("respawn started", "version", s.cfg.Version, "pid", os.Getpid(), "servers", s.count(false), "tasks", s.count(true),
		"interval", s.cfg.Interval.String(), "pid1", s.pid1)
	s.warnStopGrace()
	alarm := s.armAlarm()
	s.startAll()
	s.disarm(alarm)
	s.reap()
	s.flushLogs()
	s.systemdReady()
	return s.loop()
}

// startAll fires the start of every record, in order; once a stop is
// taken (see breathe), the records not started are cremated. A --ready
// server holds the records after it until it is ready (see startFrom).
func (s *Supervisor) startAll() { s.startFrom(0) }

// breathe is called after the i-th start (from 0) of a long run of them
// in one turn (start-up, a revival of every buried server): after every
// reapBatch starts it reaps what has ended and takes a stop signal, so
// that thousands of starts keep neither a SIGTERM waiting nor a server
// that died at once unseen (its life would be counted to its reap). The
// run stops starting once the supervisor is stopping.
func (s *Supervisor) breathe(i int) {
	s.keepalives()
	if (i+1)%reapBatch != 0 {
		return
	}
	s.reap()
	select {
	case sig := <-s.sig.Stop:
		s.onSignal(sig)
	default:
	}
	s.flushLogs()
}

// reapBatch bounds the exits one reap handles, and the paced respawns
// one turn fires. Each may cost a respawn
// (a fork and exec, a fraction of a millisecond), so a turn of the loop
// stays in the tens of milliseconds however many children die at once,
// and a stop signal, a request or a timer is seen between batches.
const reapBatch = 64

// loop is the event loop proper: it blocks until something happens. Each
// turn does bounded work (a reap takes at most reapBatch exits), and a
// stop signal is taken first whenever one is there.
func (s *Supervisor) loop() int {
	for !s.finished() {
		s.keepalives()
		select {
		case sig := <-s.sig.Stop:
			s.onSignal(sig)
			s.flushLogs()
			continue
		default:
		}
		select {
		case sig := <-s.sig.Stop:
			s.onSignal(sig)
		case <-s.sig.Child:
			s.reap()
		case <-s.moreC():
			s.reap()
		case <-s.dueC:
			s.respawnDue()
		case sig := <-s.sig.Dump:
			s.onSignal(sig)
		case sig := <-s.sig.Revive:
			s.onSignal(sig)
		case sig := <-s.sig.Upgrade:
			s.onSignal(sig)
		case sig := <-s.sig.Winch:
			s.onSignal(sig)
		case <-s.sig.Pipe:
		case te := <-s.taskDone:
			s.onTaskExit(te)
		case req := <-s.reqs:
			req.fn(s)
			close(req.done)
		case <-s.stopC:
			s.onStopDeadline()
		case <-s.watchReady():
			s.onWatchEvents()
		case <-s.petC():
			s.onWatchdogTick()
		case <-s.notifyWake():
			s.onNotifyWake()
		case <-s.notifyTimerC():
			s.onNotifyTimer()
		case <-s.idleC():
			s.recordStartTimes(8)
		case <-s.systemd.c:
			s.onSystemdTimer()
		}
		s.checkGate()
		s.flushLogs()
		s.systemdChanges()
	}
	return s.finish()
}

// finished reports whether the event loop has nothing left to do.
func (s *Supervisor) finished() bool {
	if s.cfg.ExitWhenBuried && !s.stopping && s.nothingCanRun() {
		s.exitBuried()
	}
	if s.stopping {
		// A cancelled upgrade's check is waited for: it is a child.
		return s.tasksEnded() && s.upgrade == nil && (s.cfg.LeaveRunning || s.noChildren)
	}
	if s.cfg.Linger {
		return false
	}
	for _, r := range s.recs {
		if r.State != Cremated && (r.task == nil || r.keep) {
			return false
		}
		if r.task == nil && r.stopping {
			return false // an operator stopped it: only an operator ends it
		}
	}
	// Nothing keeps us: end the remaining tasks the regular way.
	s.shutdown(nil)
	return s.finished()
}

func (s *Supervisor) tasksEnded() bool {
	for _, r := range s.recs {
		if r.task != nil && r.State == Alive {
			return false
		}
	}
	return true
}

// finish logs the end and returns the exit status.
func (s *Supervisor) finish() int {
	s.drainOutput()
	s.flushLogs()
	status := ExitClean
	for _, r := range s.recs {
		left := s.cfg.LeaveRunning && r.State == Alive // left running as asked
		if r.task == nil && !left && !(r.State == Cremated && (r.endedClean() || !r.Started && !r.Last.Set)) {
			status = ExitUnclean
		}
	}
	if s.buriedStatus != 0 {
		status = s.buriedStatus
	}
	s.watchdogEnd()
	s.log.Info("respawn exiting", "status", status)
	return status
}

func (s *Supervisor) count(tasks bool) int {
	n := 0
	for _, r := range s.recs {
		if (r.task != nil) == tasks {
			n++
		}
	}
	return n
}

// request is a function run on the event loop on behalf of another
// goroutine; done is closed when it has run.
type request struct {
	fn   func(*Supervisor)
	done chan struct{}
}

// Do runs fn on the event loop and waits until it has run, or until ctx is
// done. fn may read and change the supervisor freely and must not block.
// Do reports false if fn did not run because ctx ended first; fn may still
// run later in that case unless Do returned before the loop received it.
func (s *Supervisor) Do(ctx context.Context, fn func(*Supervisor)) bool {
	req := request{fn: fn, done: make(chan struct{})}
	select {
	case s.reqs <- req:
	case <-ctx.Done():
		return false
	}
	<-req.done
	return true
}

// countState is how many servers, not tasks, are in state st: it is
// logged beside count(false).
func (s *Supervisor) countState(st State) int {
	n := 0
	for _, r := range s.recs {
		if r.task == nil && r.State == st {
			n++
		}
	}
	return n
}

// reviveAll revives every buried server and task, unless the supervisor
// is shutting down, and returns how many it revived.
func (s *Supervisor) reviveAll() int {
	if s.stopping {
		// A server started now would miss the stop signal already sent.
		s.log.Info("revive refused: shutting down", "buried", s.countState(Buried))
		return 0
	}
	n := 0
	for _, r := range s.recs {
		if s.stopping {
			break // taken by breathe: the rest stay buried
		}
		if r.State == Buried {
			s.fire(r, evRevive, Exit{})
			s.breathe(n)
			n++
		}
	}
	s.log.Info("revive", "buried", n)
	return n
}
