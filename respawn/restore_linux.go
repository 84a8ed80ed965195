//go:build linux

package respawn

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"

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
	s.generation, s.lastUpgrade, s.started = snap.Generation+1, realtimeNs(), snap.StartedNs
	s.droppedEvents = snap.DroppedEvents
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
// recorded, so that a wrong or reused pid is never adopted.
func (s *Supervisor) adopt() {
	self := os.Getpid()
	var alive []*Server
	for _, r := range s.recs {
		if r.task == nil && r.State == Alive {
			alive = append(alive, r)
		}
	}
	ahead := s.ahead
	if ahead == nil {
		pids := make([]int, len(alive))
		for i, r := range alive {
			pids[i] = r.Pid
		}
		ahead = readStats(pids, runtime.GOMAXPROCS(0)-1)
	}
	stats := ahead.wait()
	s.ahead = nil
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
		if st.PPid == self && (r.procStart == 0 || st.StartTime == r.procStart) {
			s.byPid[r.Pid] = r
			r.procStart = st.StartTime
			continue
		}
		s.log.Warn("respawn: server lost across the upgrade, respawning it", "server", r.Index, "name", r.Name, "pid", r.Pid)
		r.State, r.Pid = Dead, 0
		r.Last = Exit{Err: "lost across an upgrade", Set: true}
	}
}

// Recover rebuilds the supervisor when the previous image's snapshot cannot
// be used: the servers from the command line, each adopted from the
// children found in /proc whose command line matches it, the others
// started afresh. What the snapshot held beyond that (restart counts,
// burials, cremations, the last exits) is lost and logged. Recover must be
// called before Run.
func (s *Supervisor) Recover(reason error) {
	s.restored = true
	s.generation, s.lastUpgrade, s.started = 1, realtimeNs(), realtimeNs()
	kids := childrenOf(os.Getpid())
	claimed := map[int]bool{}
	adopted := 0
	for _, r := range s.recs {
		if r.task != nil {
			continue
		}
		if pid := matchChild(r.Argv, kids, claimed); pid > 0 {
			s.adoptFound(r, pid)
			adopted++
		}
	}
	s.log.Error("respawn: upgrade snapshot unusable; recovered from the command line and /proc",
		"reason", reason, "adopted", adopted, "started_afresh", s.count(false)-adopted,
		"lost", "restart counts, burials, cremations, last exits, generation")
	for _, k := range kids {
		if !claimed[k] {
			s.log.Warn("respawn: child matches no server; it will be reaped when it exits", "pid", k, "cmd", procCmdline(k))
		}
	}
}

// adoptFound makes r ALIVE as the running process pid.
func (s *Supervisor) adoptFound(r *Server, pid int) {
	st, _ := ReadStat(pid)
	r.State, r.Pid, r.Pgid, r.Started = Alive, pid, st.Pgrp, true
	r.StartNs, r.StartRT = startFromTicks(st.StartTime)
	rewriteInitialSpawn(r.Argv)
	s.byPid[pid] = r
}

// matchChild finds an unclaimed child whose command line is argv, before
// or after the --initial-spawn rewrite.
func matchChild(argv []string, kids []int, claimed map[int]bool) int {
	later := slices.Clone(argv)
	rewriteInitialSpawn(later)
	for _, k := range kids {
		if claimed[k] {
			continue
		}
		if cl := procArgv(k); slices.Equal(cl, argv) || slices.Equal(cl, later) {
			claimed[k] = true
			return k
		}
	}
	return 0
}

func procArgv(pid int) []string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil || len(b) == 0 {
		return nil
	}
	return bytes2strings(bytes.Split(bytes.TrimSuffix(b, []byte{0}), []byte{0}))
}

func bytes2strings(bs [][]byte) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = string(b)
	}
	return out
}

func procCmdline(pid int) string { return Quote(procArgv(pid)) }

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
		"servers", s.count(false), "alive", s.countState(Alive), "tasks", s.count(true))
	for _, r := range s.recs {
		switch {
		case r.task != nil && r.State == Alive:
			s.startTask(r)
		case r.State == Unborn:
			s.fire(r, evStart, Exit{})
		case r.State == Dead:
			s.fire(r, evRespawn, Exit{})
		}
	}
	s.reap()
	s.replay(s.cfg.Pending)
	s.flushLogs()
}
