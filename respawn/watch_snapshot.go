package respawn

import (
	"slices"
	"strconv"

	"respawn/marshal"
	"respawn/watch"
)

// adoptedRecord is how a server taken over from a watched process starts,
// for the snapshot; nil for every other record.
func adoptedRecord(r *Server) *marshal.Adopted {
	a := r.adopted
	if a == nil {
		return nil
	}
	st := &r.Set
	return &marshal.Adopted{
		Rule: a.rule, Exe: a.exe, Cwd: st.Cwd, Env: st.Environ, EnvSet: st.EnvironSet,
		CredSet: st.User != "", UID: st.UID, GID: st.GID, Groups: st.Groups,
	}
}

// adoptRecord gives r the settings of a server taken over from a watched
// process, as the snapshot carried them.
func (r *Server) adoptRecord(a *marshal.Adopted) {
	if a == nil {
		return
	}
	r.adopted = &adoption{rule: a.Rule, exe: a.Exe}
	r.Set = Settings{Cwd: a.Cwd, Environ: a.Env, EnvironSet: a.EnvSet}
	if a.CredSet {
		r.Set.User, r.Set.UID = strconv.FormatUint(uint64(a.UID), 10), a.UID
		r.Set.Group, r.Set.GID = strconv.FormatUint(uint64(a.GID), 10), a.GID
		r.Set.Groups, r.Set.GroupsSet = slices.Clone(a.Groups), true
	}
	r.path = a.Exe
}

// watchRecord is the watch task's state for the snapshot, or nil.
func (s *Supervisor) watchRecord() *marshal.Watch {
	w := s.watch
	if w == nil {
		return nil
	}
	m := &marshal.Watch{Overruns: w.overruns}
	for pid, start := range w.unwatched {
		m.Unwatched = append(m.Unwatched, marshal.WatchPid{Pid: pid, StartTime: start})
	}
	at := map[string]int{}
	for _, r := range w.rules {
		at[r.String()] = len(m.Rules)
		m.Rules = append(m.Rules, marshal.WatchRule{Rule: r.String(), File: r.File})
	}
	for _, pid := range w.pids() {
		p := w.procs[pid]
		i, ok := at[p.rule.String()]
		if !ok { // its rule was removed while it was being handled
			continue
		}
		m.Procs = append(m.Procs, marshal.WatchProc{
			Pid: p.Pid, StartTime: p.StartTime, Rule: i, Comm: p.Comm, Exe: p.Exe, Argv: p.Argv, Cwd: p.Cwd,
			Env: p.Env, UID: p.UID, GID: p.GID, Groups: p.Groups, Pgid: p.Pgid, Missing: p.Missing, SeenNs: p.seenRT,
		})
	}
	return m
}

// loadWatch takes the watch task's state a snapshot carried: its rules
// replace the command line's (an operator may have changed them), its
// watched processes are watched again if each is still the process that
// was recorded (same start time), and its socket is adopted by the task.
// A rule the snapshot holds that this binary cannot read is logged and
// dropped.
func (s *Supervisor) loadWatch(snap *marshal.Snapshot) {
	w := s.watch
	if w == nil || snap.Watch == nil {
		return
	}
	for _, fd := range snap.FDs {
		if fd.Role == WatchRole {
			w.inherited = fd.FD
		}
	}
	rules := make([]watch.Rule, len(snap.Watch.Rules))
	ok := make([]bool, len(rules))
	w.rules = w.rules[:0]
	for i, mr := range snap.Watch.Rules {
		r, err := watch.ParseRule(mr.Rule)
		if err != nil {
			s.log.Warn("watch: rule from the snapshot dropped", "rule", mr.Rule, "err", err)
			continue
		}
		r.File = mr.File
		rules[i], ok[i] = r, true
		w.rules = append(w.rules, r)
	}
	w.overruns = snap.Watch.Overruns
	for _, u := range snap.Watch.Unwatched {
		w.unwatched[u.Pid] = u.StartTime
	}
	for i := range snap.Watch.Procs {
		mp := &snap.Watch.Procs[i]
		if !ok[mp.Rule] || !s.stillWatched(mp) {
			continue
		}
		p := &watched{rule: rules[mp.Rule], seenRT: mp.SeenNs, Proc: watch.Proc{
			Ident: watch.Ident{Pid: mp.Pid, StartTime: mp.StartTime, Comm: mp.Comm, Exe: mp.Exe, Argv: mp.Argv, Pgid: mp.Pgid},
			Cwd:   mp.Cwd, Env: mp.Env, UID: mp.UID, GID: mp.GID, Groups: mp.Groups, Missing: mp.Missing,
		}}
		w.procs[p.Pid] = p
	}
	// The old image's filter let their exits into the socket: the
	// adopted socket holds them, and the filter carries on with them.
	w.adoptPids = w.pids()
	w.dirty = true
}

// stillWatched reports whether the snapshot's watched process mp may be
// watched again: it is gone (its exit may wait in the kept socket), or it
// is still the process recorded (same start time) and none of respawn's
// own. A pid that runs another process is dropped: that process must
// never be restarted as the recorded one, nor its group killed.
func (s *Supervisor) stillWatched(mp *marshal.WatchProc) bool {
	id, err := watch.ReadIdent(mp.Pid)
	if err != nil || id.StartTime == mp.StartTime && !s.ours(&id) {
		return true
	}
	s.log.Warn("watch: a watched process of the snapshot is not the one recorded: dropped", "pid", mp.Pid, "name", mp.Comm)
	return false
}
