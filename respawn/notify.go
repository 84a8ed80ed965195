package respawn

import (
	"strconv"
	"strings"
	"time"

	"respawn/notify"
)

// DefaultReadyTimeout is how long later groups wait for a server with a
// bare --ready: systemd's DefaultTimeoutStartSec.
const DefaultReadyTimeout = 90 * time.Second

// sdState is what a server's process said over sd_notify. It is reset at
// each start: a new process is not ready until it says so.
type sdState struct {
	ready      bool
	status     string
	dogNs      int64         // CLOCK_MONOTONIC of the next missed ping; 0: no watchdog armed
	dogTimeout time.Duration // the timeout in force: --watchdog, or the server's WATCHDOG_USEC=
	dogFired   bool          // SIGABRT sent to the current process
	forked     bool          // its main pid came from MAINPID=
	// former is the process of respawn's own that MAINPID= replaced by
	// one respawn cannot reap (its parent reaps it), while that one is
	// not known to be dead: the former's death, once the main process
	// is gone too, is the server's. 0 if none.
	former int
}

// notifier is the sd_notify socket's state, owned by the event loop. The
// waiter goroutine only waits for a datagram to be there and tells the
// loop (wake), which reads them all and answers (drained); a datagram is
// therefore never held anywhere but in the kernel's queue, and a live
// upgrade, which keeps the socket, loses none.
type notifier struct {
	conn      *notify.Conn
	addr      string // conn's address, for NOTIFY_SOCKET; "" without a socket
	inherited int    // the descriptor a live upgrade kept, or -1
	self      int    // respawn's pid (it does not change across an upgrade)
	pending   bool   // a wake is being answered: read on at the next turn
	wake      chan struct{}
	drained   chan struct{}

	refused  uint64 // messages from no server, or unreadable
	received uint64 // messages taken

	timer  *time.Timer
	timerC <-chan time.Time
	at     int64 // what the timer is armed for, while timerC is set

	gate *gate    // start-up waiting for a --ready server, or nil
	env  []string // the environment of a server without settings of its own, once built
}

// gate is start-up held at a --ready server: the records after it start
// once it is ready, or at the deadline, or when it can no longer become
// ready (BURIED or CREMATED).
type gate struct {
	r      *Server
	next   int   // the index in recs of the first record not started
	dueNs  int64 // CLOCK_MONOTONIC of the timeout
	timout time.Duration
}

// readyTimeout is how long later groups wait for r; 0: r is not --ready.
func (r *Server) readyTimeout() time.Duration {
	switch {
	case !r.Set.Ready:
		return 0
	case r.Set.ReadyTimeout > 0:
		return r.Set.ReadyTimeout
	}
	return DefaultReadyTimeout
}

// startFrom fires the start of the records from index i on, in order,
// until a --ready server is started: then start-up waits (see gate), and
// the tasks not started yet start at once, since the notify socket's
// messages and the control socket must not wait for a server. Once a
// stop is taken, the records not started are cremated.
func (s *Supervisor) startFrom(i int) {
	for ; i < len(s.recs); i++ {
		r := s.recs[i]
		if s.stopping {
			s.fire(r, evStop, Exit{})
			continue
		}
		if r.State != Unborn {
			continue // an operator started it meanwhile
		}
		s.fire(r, evStart, Exit{})
		s.breathe(i)
		if d := r.readyTimeout(); d > 0 && r.State == Alive && !r.sd.ready && i+1 < len(s.recs) {
			s.holdStart(r, i+1, d)
			return
		}
	}
}

// holdStart makes start-up wait for r before the record at next.
func (s *Supervisor) holdStart(r *Server, next int, d time.Duration) {
	g := &gate{r: r, next: next, dueNs: monotonicNs() + int64(d), timout: d}
	s.flushLogs() // its ALIVE first
	s.log.Info("start-up waits for the server to be ready", append(r.logID(), "timeout", d.String())...)
	for j := next; j < len(s.recs); j++ {
		if t := s.recs[j]; t.task != nil && t.State == Unborn && !s.stopping {
			s.fire(t, evStart, Exit{})
		}
	}
	if s.notify == nil {
		s.notify = &notifier{inherited: -1}
	}
	s.notify.gate = g
	s.armNotifyAt(g.dueNs)
}

// openGate lets start-up carry on past the gate.
func (s *Supervisor) openGate(why string) {
	g := s.notify.gate
	s.notify.gate = nil
	switch why {
	case "ready":
		s.log.Info("start-up goes on: the server is ready", g.r.logID()...)
	case "stopping":
	default:
		s.log.Warn("start-up goes on without the server ready", append(g.r.logID(), "why", why)...)
	}
	s.startFrom(g.next)
}

// checkGate opens the gate when its server can no longer become ready,
// or when respawn is stopping (the records left are cremated). It runs
// after every turn of the loop; it costs nothing without a gate.
func (s *Supervisor) checkGate() {
	if s.notify == nil || s.notify.gate == nil {
		return
	}
	g := s.notify.gate
	switch {
	case s.stopping:
		s.openGate("stopping")
	case g.r.State == Buried || g.r.State == Cremated:
		s.openGate("it is " + g.r.State.String())
	case g.r.State == Alive && g.r.sd.ready:
		s.openGate("ready")
	}
}

// armNotifyAt makes sure the notify timer fires by at.
func (s *Supervisor) armNotifyAt(at int64) {
	n := s.notify
	if n.timerC != nil && n.at <= at {
		return
	}
	n.timerC, n.at = armAt(&n.timer, at), at
}

// notifyTimerC is the notify timer's channel, or nil.
func (s *Supervisor) notifyTimerC() <-chan time.Time {
	if s.notify == nil {
		return nil
	}
	return s.notify.timerC
}

// onNotifyTimer handles the notify timer: the start-up gate's timeout,
// and the watchdogs whose ping is overdue. It arms the timer for the
// next deadline.
func (s *Supervisor) onNotifyTimer() {
	n := s.notify
	n.timerC = nil
	now := monotonicNs()
	if g := n.gate; g != nil && g.dueNs <= now {
		s.openGate("no READY=1 within " + g.timout.String())
	}
	next := int64(0)
	for _, r := range s.recs {
		if r.sd.dogNs == 0 || r.State != Alive {
			continue
		}
		if r.stopping || r.restart || s.stopping {
			r.sd.dogNs = 0 // being stopped: its stop timeout ends it
			continue
		}
		if r.sd.dogNs <= now {
			s.watchdogMissed(r, now)
			continue
		}
		if next == 0 || r.sd.dogNs < next {
			next = r.sd.dogNs
		}
	}
	if g := n.gate; g != nil && (next == 0 || g.dueNs < next) {
		next = g.dueNs
	}
	if next != 0 {
		s.armNotifyAt(next)
	}
}

// watchdogMissed ends a server whose ping is overdue the way systemd
// does: SIGABRT to its main process (a core dump shows where it hung),
// then SIGKILL at its stop timeout; its death is a death like any other,
// and restarts it.
func (s *Supervisor) watchdogMissed(r *Server, now int64) {
	late := time.Duration(now - r.sd.dogNs + int64(r.sd.dogTimeout)).Round(time.Millisecond)
	r.sd.dogNs, r.sd.dogFired = 0, true
	s.log.Warn("watchdog: no WATCHDOG=1 in time: SIGABRT", append(r.logID(), "pid", r.Pid, "timeout", r.sd.dogTimeout.String(), "since_last", late.String())...)
	s.abort(r)
}

// armWatchdog arms r's watchdog for its new process, if it has one. As
// systemd's, it runs from the end of start-up: for a --ready server,
// READY=1 (see applyNotify), which it has its --ready timeout to send.
func (s *Supervisor) armWatchdog(r *Server) {
	r.sd = sdState{dogTimeout: r.Set.Watchdog}
	if r.Set.Watchdog > 0 && s.notify != nil && s.notify.conn != nil {
		r.sd.dogNs = monotonicNs() + int64(r.readyTimeout()+r.Set.Watchdog)
		s.armNotifyAt(r.sd.dogNs)
	}
}

// NotifyInfo is what a server said over sd_notify, as list, status and
// the dump show it.
type NotifyInfo struct {
	Ready    bool   `json:"ready"`
	Status   string `json:"status,omitempty"`
	Watchdog string `json:"watchdog,omitempty"` // the timeout in force, while armed
	// WatchdogDue is when the next WATCHDOG=1 is due (RFC 3339).
	WatchdogDue string `json:"watchdog_due,omitempty"`
	MainPid     bool   `json:"mainpid,omitempty"` // its pid came from MAINPID=
}

// notifyInfo is r's NotifyInfo, or nil for a server that is not alive,
// or that has neither said anything nor a --ready or --watchdog.
func (s *Supervisor) notifyInfo(r *Server) *NotifyInfo {
	sd := &r.sd
	if r.task != nil || r.State != Alive || !(sd.ready || sd.status != "" || sd.dogNs != 0 || sd.forked || r.Set.Ready || r.Set.Watchdog > 0) {
		return nil
	}
	in := &NotifyInfo{Ready: sd.ready, Status: sd.status, MainPid: sd.forked}
	if sd.dogNs != 0 {
		in.Watchdog = sd.dogTimeout.String()
		in.WatchdogDue = rfc3339(realtimeNs() + sd.dogNs - monotonicNs())
	}
	return in
}

// NotifyDump is the notify socket's part of the dump.
type NotifyDump struct {
	Socket   string `json:"socket"`
	Received uint64 `json:"received"`
	Refused  uint64 `json:"refused"` // from no server's process, or unreadable
	Waiting  string `json:"waiting,omitempty"`
}

func (s *Supervisor) notifyDump() *NotifyDump {
	n := s.notify
	if n == nil || n.conn == nil {
		return nil
	}
	d := &NotifyDump{Socket: n.conn.Addr(), Received: n.received, Refused: n.refused}
	if n.gate != nil {
		d.Waiting = n.gate.r.Name
	}
	return d
}

func (d *NotifyDump) appendText(b []byte) []byte {
	if d == nil {
		return b
	}
	b = append(b, "notify: socket="...)
	b = append(b, d.Socket...)
	b = append(b, " received="...)
	b = strconv.AppendUint(b, d.Received, 10)
	b = append(b, " refused="...)
	b = strconv.AppendUint(b, d.Refused, 10)
	if d.Waiting != "" {
		b = append(b, " start-up waits for="...)
		b = appendEscaped(b, d.Waiting)
	}
	return append(b, '\n')
}

// appendNotify appends a server's sd_notify fields to its dump line.
func appendNotify(b []byte, in *NotifyInfo) []byte {
	if in == nil {
		return b
	}
	b = append(b, " ready="...)
	b = strconv.AppendBool(b, in.Ready)
	if in.Status != "" {
		b = append(b, " status="...)
		b = strconv.AppendQuote(b, in.Status)
	}
	if in.Watchdog != "" {
		b = append(b, " sd_watchdog="...)
		b = append(b, in.Watchdog...)
	}
	return b
}

// envWithout is env without the entries of the names given.
func envWithout(env []string, names ...string) []string {
	out := make([]string, 0, len(env)+2)
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		drop := false
		for _, n := range names {
			drop = drop || k == n
		}
		if !drop {
			out = append(out, kv)
		}
	}
	return out
}
