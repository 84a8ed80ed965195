package marshal

import (
	"errors"
	"fmt"
	"math"
)

// validate reports the first field of s out of range, or nil.
func (s *Snapshot) validate() error {
	if !CanRead(s.Version) {
		return &VersionError{Version: s.Version}
	}
	if s.Generation < 0 || s.LastUpgradeNs < 0 || s.StartedNs < 0 {
		return errors.New("marshal: negative generation or time")
	}
	if s.Generation > MaxGeneration {
		return fmt.Errorf("marshal: generation %d, over the limit of %d", s.Generation, MaxGeneration)
	}
	if err := s.Flags.validate(); err != nil {
		return err
	}
	if len(s.Logs) > MaxString {
		return fmt.Errorf("marshal: %d bytes of carried logs, over the limit of %d", len(s.Logs), MaxString)
	}
	if err := validateRecords(s.Records); err != nil {
		return err
	}
	if err := validateEvents(s.Events, s.EventSeq); err != nil {
		return err
	}
	if err := validateFDs(s.FDs); err != nil {
		return err
	}
	if err := s.Systemd.validate(); err != nil {
		return err
	}
	if err := s.Watch.validate(); err != nil {
		return err
	}
	if err := s.Acct.validate(); err != nil {
		return err
	}
	if err := s.Watchdog.validate(); err != nil {
		return err
	}
	if err := s.Heartbeat.validate(); err != nil {
		return err
	}
	return validateOut(s.Records, s.FDs)
}

// validateOut checks that each record's output descriptors are none or
// OutFDs, none of them stdio, all distinct from each other and from the
// kept descriptors.
func validateOut(rs []Record, fds []FD) error {
	seen := map[int]bool{}
	for _, d := range fds {
		seen[d.FD] = true
	}
	for i := range rs {
		r := &rs[i]
		if len(r.Out) != 0 && (len(r.Out) != OutFDs || r.Task) {
			return fmt.Errorf("marshal: record %d: %d output descriptors", i+1, len(r.Out))
		}
		for _, fd := range r.Out {
			if fd < MinFD || fd > MaxFD || seen[fd] {
				return fmt.Errorf("marshal: record %d: output descriptor %d out of range or repeated", i+1, fd)
			}
			seen[fd] = true
		}
	}
	return nil
}

func (f *Flags) validate() error {
	if f.IntervalNs < 0 || f.StopTimeoutNs < 0 {
		return errors.New("marshal: negative interval or stop timeout")
	}
	for _, v := range []string{f.LogFormat, f.LogLevel, f.Control} {
		if err := checkString("flag", v); err != nil {
			return fmt.Errorf("marshal: %w", err)
		}
	}
	return nil
}

// validateRecords checks each record and that together they are servers,
// then tasks, numbered from 1 in order, with distinct names and distinct
// pids: two records of one process would leave one ALIVE for ever.
func validateRecords(rs []Record) error {
	if len(rs) > MaxRecords {
		return fmt.Errorf("marshal: %d records, over the limit of %d", len(rs), MaxRecords)
	}
	names := make(map[string]bool, len(rs))
	pids := make(map[int]int)
	for i := range rs {
		r := &rs[i]
		if err := r.validate(i); err != nil {
			return fmt.Errorf("marshal: record %d %.40q: %w", i+1, r.Name, err)
		}
		if names[r.Name] {
			return fmt.Errorf("marshal: record %d: name %.40q repeated", i+1, r.Name)
		}
		names[r.Name] = true
		if o, ok := pids[r.Pid]; ok && r.Pid != 0 {
			return fmt.Errorf("marshal: record %d %.40q: pid %d repeats record %d's", i+1, r.Name, r.Pid, o)
		}
		pids[r.Pid] = i + 1
		if i > 0 && rs[i-1].Task && !r.Task {
			return fmt.Errorf("marshal: record %d %.40q: a server after a task", i+1, r.Name)
		}
	}
	return nil
}

// validate checks the record at position i of Snapshot.Records.
func (r *Record) validate(i int) error {
	switch {
	case r.Index != i+1:
		return fmt.Errorf("index %d at position %d", r.Index, i+1)
	case r.Name == "":
		return errors.New("no name")
	case r.State < 0 || r.State >= numStates:
		return fmt.Errorf("state %d", r.State)
	case r.StartNs < 0 || r.StartRTNs < 0 || r.Restarts < 0:
		return errors.New("negative start time or restart count")
	case r.Short < 0 || r.Short > MaxShort || r.DueNs < 0:
		return fmt.Errorf("pacing %d, due %d", r.Short, r.DueNs)
	case r.Fast < 0 || r.Fast > MaxFast:
		return fmt.Errorf("retries used %d", r.Fast)
	case r.DueNs != 0 && r.State != stateDead:
		return fmt.Errorf("a respawn due in state %d", r.State)
	case r.Restart && r.State != stateAlive:
		return fmt.Errorf("a restart pending in state %d", r.State)
	case r.KillNs < 0 || r.KillNs != 0 && r.State != stateAlive:
		return fmt.Errorf("a SIGKILL due at %d in state %d", r.KillNs, r.State)
	case r.Restarts > MaxRestarts:
		return fmt.Errorf("%d restarts, over the limit of %d", r.Restarts, MaxRestarts)
	case r.ProcStart > math.MaxInt64:
		return fmt.Errorf("proc start time %d", r.ProcStart)
	case r.Pgid < 0 || r.Pgid == 1 || r.Pgid > MaxPid:
		return fmt.Errorf("pgid %d", r.Pgid)
	}
	if err := r.validateProcess(); err != nil {
		return err
	}
	if err := checkString("name", r.Name); err != nil {
		return err
	}
	if err := r.Notify.validate(r); err != nil {
		return err
	}
	if a := r.Adopted; a != nil {
		if r.Task {
			return errors.New("a task adopted from a watched process")
		}
		if err := checkProcess(a.Env, a.Groups, a.Rule, a.Exe, a.Cwd); err != nil {
			return err
		}
	}
	return r.Last.validate()
}

// validateProcess checks argv and pid against the kind and state of r.
func (r *Record) validateProcess() error {
	switch {
	case r.Pid < 0 || r.Pid == 1 || r.Pid > MaxPid:
		return fmt.Errorf("pid %d", r.Pid)
	case r.Task && (len(r.Argv) > 0 || r.Pid != 0):
		return errors.New("a task with an argv or a pid")
	case r.Task:
		return nil
	case len(r.Argv) == 0 || len(r.Argv) > MaxArgv:
		return fmt.Errorf("%d arguments, want 1 to %d", len(r.Argv), MaxArgv)
	case r.State == stateAlive && r.Pid == 0:
		return errors.New("no pid while ALIVE")
	case r.State == stateAlive && r.Pgid == 0:
		return errors.New("no process group while ALIVE")
	case r.State == stateAlive && r.ProcStart == 0:
		// Without it the pid cannot be told from a reused one.
		return errors.New("no proc start time while ALIVE")
	case r.State != stateAlive && r.Pid != 0:
		return fmt.Errorf("pid %d while not ALIVE", r.Pid)
	}
	for _, a := range r.Argv {
		if err := checkString("argument", a); err != nil {
			return err
		}
	}
	return nil
}

func (e *Exit) validate() error {
	switch {
	case e.Code < 0 || e.Code > 255:
		return fmt.Errorf("exit code %d", e.Code)
	case e.Signal < 0 || e.Signal > MaxSignal:
		return fmt.Errorf("signal %d", e.Signal)
	}
	if err := e.Acct.validate(); err != nil {
		return err
	}
	return checkString("error", e.Err)
}

// validateEvents checks that the carried transitions are at most
// MaxEvents, numbered one by one up to seq, each in range.
func validateEvents(evs []Event, seq uint64) error {
	if len(evs) > MaxEvents {
		return fmt.Errorf("marshal: %d events, over the limit of %d", len(evs), MaxEvents)
	}
	if seq > MaxEventSeq {
		return fmt.Errorf("marshal: event number %d, over the limit of %d", seq, uint64(MaxEventSeq))
	}
	if uint64(len(evs)) > seq {
		return fmt.Errorf("marshal: %d events up to number %d", len(evs), seq)
	}
	first := seq - uint64(len(evs)) + 1
	for i := range evs {
		if err := evs[i].validate(first + uint64(i)); err != nil {
			return fmt.Errorf("marshal: event %d: %w", i+1, err)
		}
	}
	return nil
}

// validate checks e, which must be number seq.
func (e *Event) validate(seq uint64) error {
	switch {
	case e.Seq != seq:
		return fmt.Errorf("number %d, want %d", e.Seq, seq)
	case e.Index < 0 || e.Index > MaxRecords:
		return fmt.Errorf("index %d", e.Index)
	case e.From < 0 || e.From >= numStates || e.To < 0 || e.To >= numStates:
		return fmt.Errorf("states %d to %d", e.From, e.To)
	case e.Pid < 0 || e.Pid > MaxPid:
		return fmt.Errorf("pid %d", e.Pid)
	case e.TimeNs < 0:
		return errors.New("negative time")
	}
	if err := checkString("name", e.Name); err != nil {
		return err
	}
	if err := checkString("rule", e.Rule); err != nil {
		return err
	}
	if len(e.Watch) > 16 {
		return fmt.Errorf("watch event kind of %d bytes", len(e.Watch))
	}
	return e.Exit.validate()
}

// validateFDs checks that the kept descriptors have distinct roles and
// numbers, none of them stdio.
func validateFDs(fds []FD) error {
	if len(fds) > MaxFDs {
		return fmt.Errorf("marshal: %d descriptors, over the limit of %d", len(fds), MaxFDs)
	}
	roles, nums := make(map[string]bool, len(fds)), make(map[int]bool, len(fds))
	for _, d := range fds {
		if d.Role == "" || d.FD < MinFD || d.FD > MaxFD {
			return fmt.Errorf("marshal: descriptor %.40q %d", d.Role, d.FD)
		}
		if err := checkString("role", d.Role); err != nil {
			return fmt.Errorf("marshal: %w", err)
		}
		if roles[d.Role] || nums[d.FD] {
			return fmt.Errorf("marshal: descriptor %.40q %d repeats a role or a number", d.Role, d.FD)
		}
		roles[d.Role], nums[d.FD] = true, true
	}
	return nil
}

func checkString(what, v string) error {
	if len(v) > MaxString {
		return fmt.Errorf("a %d-byte %s is over the %d-byte limit", len(v), what, MaxString)
	}
	return nil
}

// validate checks the watch task's state; nil is valid (no task).
func (w *Watch) validate() error {
	if w == nil {
		return nil
	}
	if len(w.Rules) > MaxWatchRules || len(w.Procs) > MaxWatched {
		return fmt.Errorf("marshal: %d watch rules and %d watched processes, over the limits of %d and %d",
			len(w.Rules), len(w.Procs), MaxWatchRules, MaxWatched)
	}
	for _, r := range w.Rules {
		if err := checkString("watch rule", r.Rule); err != nil {
			return fmt.Errorf("marshal: %w", err)
		}
		if err := checkString("watch file", r.File); err != nil {
			return fmt.Errorf("marshal: %w", err)
		}
	}
	if len(w.Unwatched) > MaxWatched {
		return fmt.Errorf("marshal: %d unwatched processes, over the limit of %d", len(w.Unwatched), MaxWatched)
	}
	for _, u := range w.Unwatched {
		if u.Pid <= 1 || u.Pid > MaxPid || u.StartTime > math.MaxInt64 {
			return fmt.Errorf("marshal: unwatched process %d, start %d", u.Pid, u.StartTime)
		}
	}
	seen := make(map[int]bool, len(w.Procs))
	for i := range w.Procs {
		p := &w.Procs[i]
		if err := p.validate(len(w.Rules)); err != nil {
			return fmt.Errorf("marshal: watched process %d: %w", p.Pid, err)
		}
		if seen[p.Pid] {
			return fmt.Errorf("marshal: watched process %d twice", p.Pid)
		}
		seen[p.Pid] = true
	}
	return nil
}

func (p *WatchProc) validate(rules int) error {
	switch {
	case p.Pid <= 1 || p.Pid > MaxPid:
		return fmt.Errorf("pid %d", p.Pid)
	case p.Pgid < 0 || p.Pgid > MaxPid:
		return fmt.Errorf("pgid %d", p.Pgid)
	case p.Rule < 0 || p.Rule >= rules:
		return fmt.Errorf("rule %d of %d", p.Rule, rules)
	case p.StartTime > math.MaxInt64 || p.SeenNs < 0:
		return errors.New("start time or time seen out of range")
	case len(p.Argv) > MaxArgv || len(p.Missing) > 16:
		return fmt.Errorf("%d arguments, %d fields missing", len(p.Argv), len(p.Missing))
	}
	for _, a := range append(append([]string{}, p.Argv...), p.Missing...) {
		if err := checkString("argument", a); err != nil {
			return err
		}
	}
	return checkProcess(p.Env, p.Groups, p.Comm, p.Exe, p.Cwd)
}

// checkProcess checks what a watched or adopted process carries.
func checkProcess(env []string, groups []uint32, strs ...string) error {
	if len(env) > MaxEnv || len(groups) > MaxGroups {
		return fmt.Errorf("%d environment entries, %d groups", len(env), len(groups))
	}
	for _, v := range append(strs, env...) {
		if err := checkString("string", v); err != nil {
			return err
		}
	}
	return nil
}
