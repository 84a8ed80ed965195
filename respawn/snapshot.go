package respawn

import (
	"syscall"
	"time"

	"respawn/marshal"
)

// snapshot is the whole supervisor as a live upgrade carries it.
func (s *Supervisor) snapshot() *marshal.Snapshot {
	snap := &marshal.Snapshot{
		Generation:    s.generation,
		LastUpgradeNs: s.lastUpgrade,
		StartedNs:     s.started,
		Flags: marshal.Flags{
			// StopAtOnce is carried as 0, "as the command line says": the
			// new image parses the same --stop-timeout=0.
			IntervalNs: int64(s.cfg.Interval), StopTimeoutNs: max(int64(s.cfg.StopTimeout), 0),
			LeaveRunning: s.cfg.LeaveRunning, Linger: s.cfg.Linger,
			LogFormat: s.cfg.LogFormat, LogLevel: s.cfg.LogLevel, Control: s.cfg.Control,
		},
		Records:       make([]marshal.Record, len(s.recs)),
		DroppedEvents: s.droppedEvents,
		Systemd:       s.systemdRecord(),
		EventSeq:      s.seq,
		Events:        eventsOf(s.history.all()),
		Watch:         s.watchRecord(),
		Acct:          s.acctRecord(),
		Watchdog:      s.watchdogRecord(),
		Heartbeat:     s.heartbeatRecord(),
	}
	for i, r := range s.recs {
		snap.Records[i] = recordOf(r)
	}
	for _, k := range s.cfg.Keep {
		snap.FDs = append(snap.FDs, marshal.FD{Role: k.Role, FD: k.FD})
	}
	return snap
}

func recordOf(r *Server) marshal.Record {
	rec := marshal.Record{
		Index: r.Index, Name: r.Name, Task: r.task != nil, Argv: r.Argv,
		State: int(r.State), Pid: r.Pid, Pgid: r.Pgid,
		StartNs: r.StartNs, StartRTNs: r.StartRT, Restarts: r.Restarts, Started: r.Started,
		Stopping: r.stopping, Restart: r.restart, Short: min(r.short, marshal.MaxShort), DueNs: r.dueNs, Fast: min(r.fast, marshal.MaxFast), KillNs: r.pendingKill(),
		Last: exitRecord(r.Last),
	}
	r.stampStart()
	rec.ProcStart = r.procStart
	if r.out != nil {
		rec.Out = r.out.FDs()
	}
	rec.Adopted = adoptedRecord(r)
	rec.Notify = notifyRecord(r)
	return rec
}

// apply copies rec's state into r (not its identity: index, name, kind).
func (r *Server) apply(rec *marshal.Record) {
	r.State = State(rec.State)
	r.Pid, r.Pgid, r.procStart = rec.Pid, rec.Pgid, rec.ProcStart
	r.StartNs, r.StartRT = rec.StartNs, rec.StartRTNs
	r.Restarts, r.Started, r.stopping, r.restart = rec.Restarts, rec.Started, rec.Stopping, rec.Restart
	r.short, r.carriedDue, r.fast, r.carriedKill = rec.Short, rec.DueNs, rec.Fast, rec.KillNs
	r.Last = exitFrom(rec.Last)
	r.loadNotifyRecord(rec.Notify)
}

// configFrom returns cfg with the settings the snapshot recorded.
func configFrom(cfg Config, f marshal.Flags) Config {
	if f.IntervalNs > 0 {
		cfg.Interval = time.Duration(f.IntervalNs)
	}
	if f.StopTimeoutNs > 0 {
		cfg.StopTimeout = time.Duration(f.StopTimeoutNs)
	}
	return cfg
}

// eventsOf is the transitions as a snapshot carries them.
func eventsOf(ts []Transition) []marshal.Event {
	evs := make([]marshal.Event, len(ts))
	for i, t := range ts {
		evs[i] = marshal.Event{
			Seq: t.Seq, Index: t.Index, Name: t.Name, Task: t.Task, From: int(t.From), To: int(t.To), Pid: t.Pid,
			Exit: exitRecord(t.Exit), TimeNs: t.TimeNs, Watch: t.Watch, Rule: t.Rule, Lost: t.Lost,
			Accounted: t.Accounted,
		}
	}
	return evs
}

// loadEvents takes the sequence and the transitions a snapshot carried.
func (s *Supervisor) loadEvents(seq uint64, evs []marshal.Event) {
	s.seq, s.history = seq, history{}
	for _, e := range evs {
		s.history.add(Transition{
			Seq: e.Seq, Index: e.Index, Name: e.Name, Task: e.Task, From: State(e.From), To: State(e.To), Pid: e.Pid,
			Exit: exitFrom(e.Exit), TimeNs: e.TimeNs, Watch: e.Watch, Rule: e.Rule, Lost: e.Lost,
			Accounted: e.Accounted,
		})
	}
}

func exitRecord(x Exit) marshal.Exit {
	return marshal.Exit{Set: x.Set, Code: x.Code, Signal: int(x.Signal), Core: x.Core, Err: x.Err, Acct: x.Acct.record()}
}

func exitFrom(e marshal.Exit) Exit {
	return Exit{Set: e.Set, Code: e.Code, Signal: syscall.Signal(e.Signal), Core: e.Core, Err: e.Err, Acct: accountingFrom(e.Acct)}
}
