//go:build linux

package respawn

import (
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"

	"respawn/marshal"
)

// Restore rebuilds the supervisor from the snapshot the previous image
// left. Servers come from the snapshot; tasks added with AddTask take the
// state of the snapshot's task of the same name. Each ALIVE server's pid is
// adopted only if it is still our child with the start time recorded (a
// zombie is: it died during the exec window and is reaped at once by Run);
// any other is logged as lost and respawned. ahead, if not nil, holds the
// children's stats read while the snapshot was decoded (ReadChildStats).
// Restore must be called before Run, instead of nothing or Recover.
func (s *Supervisor) Restore(snap *marshal.Snapshot, ahead *ChildStats) error {
	s.ahead = ahead
	if err := s.load(snap); err != nil {
		return err
	}
	s.adopt()
	s.adoptOutput(snap)
	return nil
}

// CheckRestore is Restore without adopting a process: the pre-flight check
// of a live upgrade runs it on the snapshot it was given, in a supervisor
// built from the same command line, to prove the restore would go through.
// The supervisor must not Run afterwards.
func (s *Supervisor) CheckRestore(snap *marshal.Snapshot) error {
	return s.load(snap)
}

// load rebuilds the records from the snapshot, as Restore describes.
func (s *Supervisor) load(snap *marshal.Snapshot) error {
	var servers []*Server
	tasks := map[string]*marshal.Record{}
	for i := range snap.Records {
		rec := &snap.Records[i]
		if rec.Task {
			tasks[rec.Name] = rec
			continue
		}
		if len(rec.Argv) == 0 {
			return fmt.Errorf("respawn: snapshot: server %d has no command line", rec.Index)
		}
		r := &Server{Name: rec.Name, Argv: rec.Argv}
		if cl := s.byName[rec.Name]; cl != nil && cl.task == nil && rec.Adopted == nil {
			r.Set = cl.Set // settings come from the command line, never from a snapshot
		}
		r.adoptRecord(rec.Adopted)
		r.apply(rec)
		servers = append(servers, r)
	}
	s.cfg = configFrom(s.cfg, snap.Flags)
	s.rebuild(servers)
	for _, r := range s.recs {
		if rec := tasks[r.Name]; r.task != nil && rec != nil {
			r.apply(rec)
		}
	}
	s.generation, s.lastUpgrade, s.started = min(snap.Generation+1, marshal.MaxGeneration), realtimeNs(), snap.StartedNs
	s.droppedEvents = snap.DroppedEvents
	s.loadSystemd(snap)
	s.loadEvents(snap.EventSeq, snap.Events)
	s.loadWatch(snap)
	s.loadAcct(snap)
	s.loadWatchdog(snap)
	s.loadNotify(snap)
	s.loadHeartbeat(snap)
	s.restored = true
	return nil
}

// rebuild replaces the servers with the given ones, keeping the tasks after
// them, and renumbers every record.
func (s *Supervisor) rebuild(servers []*Server) {
	recs := servers
	for _, r := range s.recs {
		if r.task != nil {
			recs = append(recs, r)
		}
	}
	s.recs = recs
	clear(s.byName)
	for i, r := range s.recs {
		r.Index = i + 1
		s.byName[r.Name] = r
	}
}

// adopt validates each ALIVE server's pid and takes it over: the process
// must still be our child, with the /proc start time the old image
// recorded, so that a wrong or reused pid is never adopted. Its process
// group is read from /proc too, never taken from the snapshot: a server
// is signalled as a group only if it leads its own (see group).
func (s *Supervisor) adopt() {
	alive := s.aliveServers()
	stats := s.statsOf(alive)
	for _, r := range alive {
		st, ok := stats[r.Pid]
		if !ok {
			// Not our child when the new image listed its children,
			// so it cannot be one now; look all the same.
			var err error
			if st, err = ReadStat(r.Pid); err != nil {
				st.PPid = -1
			}
		}
		if s.adoptable(r, st) {
			s.byPid[r.Pid] = r
			r.procStart, r.Pgid = st.StartTime, st.Pgrp
			s.warnNoGroup(r)
			continue
		}
		s.log.Warn("respawn: server lost across the upgrade, respawning it", "server", r.Index, "name", r.Name, "pid", r.Pid)
		r.State, r.Pid, r.Pgid = Dead, 0, 0
		r.Last = Exit{Err: "lost across an upgrade", Set: true}
	}
}

// adoptable reports whether st, read from /proc, is the process r's
// record names: our child, with the recorded start time (a record without
// one is never adopted blindly), and not claimed by another record.
func (s *Supervisor) adoptable(r *Server, st Stat) bool {
	return st.PPid == os.Getpid() && r.procStart != 0 && st.StartTime == r.procStart && s.byPid[r.Pid] == nil
}

// warnNoGroup logs an adopted server that does not lead its own process
// group: it is signalled by pid alone.
func (s *Supervisor) warnNoGroup(r *Server) {
	if _, ok := r.group(); !ok {
		s.log.Warn("respawn: server is not the leader of its own process group; signals go to its pid alone",
			"server", r.Index, "name", r.Name, "pid", r.Pid, "pgid", r.Pgid)
	}
}

func (s *Supervisor) aliveServers() []*Server {
	var alive []*Server
	for _, r := range s.recs {
		if r.task == nil && r.State == Alive {
			alive = append(alive, r)
		}
	}
	return alive
}

// statsOf returns the /proc stats of the given servers' pids, read ahead
// while the snapshot was decoded if they were.
func (s *Supervisor) statsOf(alive []*Server) map[int]Stat {
	ahead := s.ahead
	s.ahead = nil
	if ahead == nil {
		pids := make([]int, len(alive))
		for i, r := range alive {
			pids[i] = r.Pid
		}
		ahead = readStats(pids, runtime.GOMAXPROCS(0)-1)
	}
	return ahead.wait()
}

// startFromTicks converts a /proc start time (clock ticks after boot) to
// CLOCK_MONOTONIC and CLOCK_REALTIME nanoseconds.
func startFromTicks(ticks uint64) (mono, rt int64) {
	var boot unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_BOOTTIME, &boot)
	ago := boot.Nano() - int64(ticks)*1e9/100 // USER_HZ is 100 on Linux
	return monotonicNs() - ago, realtimeNs() - ago
}

// resume carries on after an upgrade: tasks are started again, records
// that were between states are moved on, the children that died during
// the exec window are reaped, and the signals that arrived then handled.
func (s *Supervisor) resume() {
	s.log.Info("respawn upgraded", "version", s.cfg.Version, "pid", os.Getpid(), "generation", s.generation,
		"servers", s.count(false), "alive", s.countState(Alive), "tasks", s.count(true), "snapshot_bytes", s.cfg.SnapshotBytes)
	for _, r := range s.recs {
		switch {
		case r.task != nil && r.State == Alive:
			s.startTask(r)
		case r.State == Unborn:
			s.fire(r, evStart, Exit{})
		case r.State == Dead && r.carriedDue > monotonicNs():
			// Paced before the upgrade: keep its place, or an upgrade
			// would set every crash-looper going at once.
			s.scheduleAt(r, r.carriedDue)
		case r.State == Dead:
			s.fire(r, evRespawn, Exit{})
		}
		r.carriedDue = 0
	}
	s.resumeKills()
	s.reap()
	s.replay(s.cfg.Pending)
	s.flushLogs()
}
