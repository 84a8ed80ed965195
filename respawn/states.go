package respawn

import (
	"context"
	"log/slog"
	"time"

	"respawn/marshal"
)

// event is what happens to a server or task.
type event uint8

const (
	evStart        event = iota // first start, or an operator's start
	evRespawn                   // a DEAD record comes back
	evRevive                    // SIGUSR2 or an operator's revive
	evExitClean                 // exit 0, SIGTERM/SIGINT, nil task, or asked to stop
	evExitFast                  // abnormal death sooner than the interval, a retry left
	evExitFastLast              // abnormal death sooner than the interval, no retry left
	evExitShort                 // abnormal death after the interval, within paceFree
	evExitLate                  // abnormal death after the interval and paceFree
	evStop                      // an operator asks it to stop for good
	evExitRestart               // death of a record an operator asked to restart
	nEvents
)

var eventNames = [nEvents]string{"start", "respawn", "revive", "exit-clean", "exit-fast", "exit-fast-last", "exit-short", "exit-late", "stop", "exit-restart"}

func (e event) String() string { return eventNames[e] }

// handler is one cell of the state table: what event ev does to a record in
// state st. x is the ending, for the exit events.
type handler func(s *Supervisor, r *Server, x Exit)

// machine is the state table. An empty cell means the event does not apply
// in that state and is ignored.
var machine = [nStates][nEvents]handler{
	Unborn: {
		evStart: unbornStart,
		evStop:  idleStop,
	},
	Alive: {
		evExitClean:    aliveExitClean,
		evExitFast:     aliveExitFast,
		evExitFastLast: aliveExitFastLast,
		evExitShort:    aliveExitShort,
		evExitLate:     aliveExitLate,
		evStop:         aliveStop,
		// A restart's stop has ended it: start it again at once.
		evExitRestart: aliveExitRestart,
	},
	Dead: {
		evStart:   deadRespawn, // an operator's start does not wait for the pace
		evRespawn: deadRespawn,
		evStop:    idleStop,
	},
	Buried: {
		evStart:  buriedRevive,
		evRevive: buriedRevive,
		evStop:   idleStop,
	},
	Cremated: {
		evStart: crematedStart,
	},
}

// fire runs the table's handler for (r.State, ev) and reports whether the
// event applied.
func (s *Supervisor) fire(r *Server, ev event, x Exit) bool {
	h := machine[r.State][ev]
	if h == nil {
		s.log.Debug("event ignored", append(r.logID(), "state", r.State.String(), "event", ev.String())...)
		return false
	}
	h(s, r, x)
	return true
}

func unbornStart(s *Supervisor, r *Server, _ Exit)   { s.launch(r) }
func deadRespawn(s *Supervisor, r *Server, _ Exit)   { s.launch(r) }
func crematedStart(s *Supervisor, r *Server, _ Exit) { s.launch(r) }

// buriedRevive starts a buried record again, with a fresh count of
// retries.
func buriedRevive(s *Supervisor, r *Server, _ Exit) {
	r.fast = 0
	s.launch(r)
}

func aliveExitClean(s *Supervisor, r *Server, x Exit) {
	r.fast = 0
	s.enter(r, Cremated, x)
}

// aliveExitFast retries a server that died sooner than the interval
// (retry.go): the (DEAD, respawn) cell fires from the loop's timer.
func aliveExitFast(s *Supervisor, r *Server, x Exit) {
	r.short = 0
	r.fast++
	s.schedule(r, retryDelay(r.fast)) // first, for the DEAD log line to say when
	s.enter(r, Dead, x)
}

// aliveExitFastLast buries a server whose retries are spent: the fast
// count stays, to show, until a revive.
func aliveExitFastLast(s *Supervisor, r *Server, x Exit) {
	r.short = 0
	s.enter(r, Buried, x)
}

// aliveExitShort paces a server that keeps dying soon after its start:
// the (DEAD, respawn) cell fires from the loop's timer. It lived past
// the interval: its retries are whole again.
func aliveExitShort(s *Supervisor, r *Server, x Exit) {
	r.short++
	r.fast = 0
	s.schedule(r, paceDelay(r.short))
	s.enter(r, Dead, x)
}

func aliveExitLate(s *Supervisor, r *Server, x Exit) {
	r.short, r.fast = 0, 0
	s.enter(r, Dead, x)
	deadRespawn(s, r, Exit{}) // the (DEAD, respawn) cell, at once
}

func aliveStop(s *Supervisor, r *Server, _ Exit) {
	r.stopping = true
	s.terminate(r)
}

// aliveExitRestart starts again a record whose death an operator's
// restart asked for: the death is recorded, the pacing and retries forgotten.
func aliveExitRestart(s *Supervisor, r *Server, x Exit) {
	r.short, r.fast = 0, 0
	s.enter(r, Dead, x) // logged as asked for, not as a death
	s.launch(r)
}

// idleStop cremates a record that is not running; it stays so, and keeps
// the supervisor running, until an operator starts it.
func idleStop(s *Supervisor, r *Server, _ Exit) {
	s.unschedule(r)
	r.fast = 0
	r.stopping = true
	s.enter(r, Cremated, Exit{})
}

// classify turns an ending of an ALIVE record into its event.
func (s *Supervisor) classify(r *Server, x Exit, now int64) event {
	switch {
	case s.stopping:
		return evExitClean
	case r.restart:
		return evExitRestart
	case r.stopping || x.Clean():
		return evExitClean
	case r.permanent:
		return evExitFastLast
	}
	lived := time.Duration(now - r.StartNs)
	if lived < s.cfg.Interval {
		if r.fast < s.retries(r) {
			return evExitFast
		}
		return evExitFastLast
	}
	if lived < paceFree {
		return evExitShort
	}
	return evExitLate
}

// launch starts r, as a process or a goroutine. A failure to start buries
// r with the error, unless it may pass (a fork refused for want of
// processes or memory): then r is DEAD and tried again, paced.
func (s *Supervisor) launch(r *Server) {
	s.unschedule(r)                      // an operator's start does not wait
	r.stopping, r.restart = false, false // any start answers a pending restart
	r.stopSig, r.spawnErr, r.permanent = 0, nil, false
	var err error
	if r.task != nil {
		s.startTask(r)
	} else {
		err = s.spawn(r)
	}
	if err != nil {
		r.Pid = 0
		if transient(err) {
			r.short++
			s.enter(r, Dead, Exit{Err: err.Error(), Set: true})
			s.schedule(r, paceDelay(r.short))
			return
		}
		r.spawnErr = err
		s.enter(r, Buried, Exit{Err: err.Error(), Set: true})
		return
	}
	if r.Started && r.Restarts < marshal.MaxRestarts {
		r.Restarts++ // saturates: a snapshot refuses a count over the limit
	}
	r.Started = true
	s.enter(r, Alive, Exit{})
	if r.task == nil {
		rewriteInitialSpawn(r.Argv) // for every later start
	}
}

// enter moves r to state to, records the ending x if it holds one, and logs
// and publishes the transition once.
func (s *Supervisor) enter(r *Server, to State, x Exit) {
	from := r.State
	if s.acct != nil {
		x = s.acctEnter(r, from, to, x)
	}
	r.State = to
	s.view = nil // Snapshot rebuilds it
	if x.Set {
		r.Last = x
	}
	pid := r.Pid
	if to != Alive {
		r.Pid = 0
	}
	s.logTransition(r, from, to, pid, x)
	s.publish(Transition{Index: r.Index, Name: r.Name, Task: r.task != nil, From: from, To: to, Pid: pid, Exit: x, TimeNs: realtimeNs()})
	if len(r.waiters) > 0 {
		s.settle(r, to, x)
	}
	if to == Buried {
		s.watchdogBuried(r)
	}
}

func (s *Supervisor) logTransition(r *Server, from, to State, pid int, x Exit) {
	level := slog.LevelInfo
	switch {
	case to == Buried && x.Err != "":
		level = slog.LevelError
	case to == Dead && r.restart: // an operator's restart: no warning
	case to == Dead || to == Buried:
		level = slog.LevelWarn
	}
	attrs := r.logID()
	if r.task == nil {
		attrs = append(attrs, "pid", pid)
	}
	attrs = append(attrs, "from", from.String())
	if r.task == nil {
		attrs = append(attrs, "cmd", r.CommandLine())
	}
	switch {
	case x.Set && pid == 0 && r.task == nil:
		attrs = append(attrs, "error", x.Err) // it never ran
	case x.Set:
		lived := time.Duration(monotonicNs() - r.StartNs).Round(time.Millisecond)
		attrs = append(attrs, "exit", x.String(), "lived", lived.String())
		if x.Acct != nil {
			attrs = append(attrs, x.Acct.logAttr())
		}
	}
	if to == Alive && r.Restarts > 0 {
		attrs = append(attrs, "restarts", r.Restarts)
	}
	if to == Alive && r.fast > 0 {
		attrs = append(attrs, "retry", retryOf(r.fast, s.retries(r)))
	}
	attrs = append(attrs, s.retryAttrs(r, to)...)
	if to == Dead && r.restart {
		attrs = append(attrs, "restart", "asked")
	}
	s.logq = append(s.logq, pendingLog{level, to.String(), attrs})
}

// pendingLog is a transition's log line, written once its event is handled.
type pendingLog struct {
	level slog.Level
	msg   string
	attrs []any
}

// flushLogs writes the transition logs queued while handling an event. They
// are written after the event, so that no log write stands between a death
// and its respawn; their order is kept.
func (s *Supervisor) flushLogs() {
	for i, l := range s.logq {
		s.log.Log(context.Background(), l.level, l.msg, l.attrs...)
		s.logq[i] = pendingLog{}
	}
	s.logq = s.logq[:0]
}
