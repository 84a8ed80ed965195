package respawn

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"respawn/watch"
)

// WatchRole is the proc connector socket's role among the descriptors a
// live upgrade keeps.
const WatchRole = "watch"

// watcher is the proc events task's state. The task's goroutine only
// reads the socket and pushes what it reads into the ring; everything
// else (the table of watched processes, matching, restarts) is owned by
// the event loop, which drains the ring.
type watcher struct {
	cfg   WatchConfig
	rules []watch.Rule
	procs map[int]*watched
	ring  *watch.Ring
	conn  atomic.Pointer[watch.Conn]
	task  *Server

	inherited int   // the descriptor a live upgrade kept, or -1
	adoptPids []int // the pids watched when it was kept, for its filter
	reason    string

	// The reader's pause for a live upgrade: pausing is set by the loop,
	// the reader answers on paused and waits for resume.
	pausing atomic.Bool
	paused  chan struct{}
	resume  chan struct{}

	received atomic.Uint64 // events read from the socket

	// unwatched holds the processes an operator unwatched by pid (pid
	// to start time): no rule picks them up again. Not in the snapshot.
	unwatched map[int]uint64

	dirty    bool  // the watched pids changed: the filter must follow
	onlyPids bool  // the filter keeps the exec of the watched pids only
	fresh    []int // pids added since the filter last followed
	overruns uint64
	buf      []watch.Event
}

// watched is one watched process: what was read of it at first sight,
// and the rule that picked it.
type watched struct {
	watch.Proc
	rule   watch.Rule
	seenRT int64 // CLOCK_REALTIME when first seen, ns
}

// addWatchTask adds the task "watch" when cfg.Watch is set. It keeps the
// supervisor running, as a server does: respawn with watch rules and no
// server is armourd's daemon.
func (s *Supervisor) addWatchTask() {
	if s.cfg.Watch == nil {
		return
	}
	w := &watcher{
		cfg: *s.cfg.Watch, rules: slices.Clone(s.cfg.Watch.Rules), procs: map[int]*watched{}, unwatched: map[int]uint64{},
		inherited: -1, paused: make(chan struct{}), resume: make(chan struct{}, 1),
	}
	if w.cfg.Buffer <= 0 {
		w.cfg.Buffer = DefaultWatchBuffer
	}
	w.ring = watch.NewRing(w.cfg.Buffer)
	s.watch = w
	s.AddTask("watch", true, w.run(s))
	w.task = s.byName["watch"]
}

// run is the task: open (or adopt) the socket, have the loop scan /proc,
// then read until the context ends.
func (w *watcher) run(s *Supervisor) TaskFunc {
	return func(ctx context.Context) error {
		c := w.conn.Load()
		if c == nil {
			var adopted bool
			var err error
			if c, adopted, err = w.open(); err != nil {
				return err
			}
			w.conn.Store(c)
			if !s.Do(ctx, func(s *Supervisor) { s.watchStarted(c, adopted) }) {
				_ = c.Close()
				return nil
			}
		}
		return w.read(ctx, c)
	}
}

// open adopts the socket a live upgrade kept, or opens one.
func (w *watcher) open() (c *watch.Conn, adopted bool, err error) {
	if fd := w.inherited; fd >= 0 {
		w.inherited = -1
		if c, err = watch.Adopt(fd, w.cfg.Options, w.adoptPids); err == nil {
			return c, true, nil
		}
		syscall.Close(fd)
	}
	c, err = watch.Open(w.cfg.Options)
	return c, false, err
}

// read pushes what the socket gives into the ring until ctx ends. An
// overrun is pushed as a loss: the loop rescans /proc.
func (w *watcher) read(ctx context.Context, c *watch.Conn) error {
	stop := context.AfterFunc(ctx, func() { _ = c.Close() })
	defer func() {
		if stop() { // ended on its own: the socket is of no use any more
			w.conn.Store(nil)
			_ = c.Close()
		}
	}()
	var buf []watch.Event
	for {
		evs, err := c.Receive(buf[:0])
		w.received.Add(uint64(len(evs)))
		for _, e := range evs {
			w.ring.Push(e)
		}
		buf = evs
		if w.pausing.Load() {
			if !w.pause(ctx) {
				return nil
			}
			continue
		}
		switch {
		case err == nil, errors.Is(err, os.ErrDeadlineExceeded): // a pause that timed out
		case errors.Is(err, watch.ErrOverrun):
			w.ring.Lost()
		case ctx.Err() != nil:
			return nil
		default:
			return fmt.Errorf("respawn: watch: %w", err)
		}
	}
}

// pause answers the loop's pause and waits to be resumed (a live upgrade
// that failed) or ended. A resume may come before the answer is taken:
// the loop stopped waiting for it (see pauseWatch).
func (w *watcher) pause(ctx context.Context) bool {
	select {
	case w.paused <- struct{}{}:
	case <-w.resume:
		return true
	case <-ctx.Done():
		return false
	}
	select {
	case <-w.resume:
		return true
	case <-ctx.Done():
		return false
	}
}

// watchReady is the ring's signal for the loop, or nil.
func (s *Supervisor) watchReady() <-chan struct{} {
	if s.watch == nil {
		return nil
	}
	return s.watch.ring.Ready()
}

// watchStarted runs on the loop once the socket listens: the descriptor
// is kept across upgrades, and /proc is scanned for the processes already
// running (after the listen, so that none slips between the two).
func (s *Supervisor) watchStarted(c *watch.Conn, adopted bool) {
	w := s.watch
	s.KeepFD(WatchRole, c.FD())
	s.log.Info("watch: listening to process events", "rules", len(w.rules), "watched", len(w.procs), "inherited", adopted,
		"masked", c.Masked(), "rcvbuf", c.RcvBuf(), "bpf", !w.cfg.Options.NoFilter, "buffer", w.ring.Cap())
	if !adopted {
		// A socket of our own: exits of processes watched before it
		// listened (carried by a snapshot) may not be in it.
		w.fresh = append(w.fresh, w.pids()...)
		w.dirty = true
	}
	s.watchScan()
}

// onWatchEvents handles at most a batch of the ring's events.
func (s *Supervisor) onWatchEvents() {
	w := s.watch
	w.buf = w.ring.Drain(w.buf[:0], reapBatch)
	for i := range w.buf {
		s.onWatchEvent(&w.buf[i])
	}
	s.watchFollow()
}

func (s *Supervisor) onWatchEvent(e *watch.Event) {
	switch e.Kind {
	case watch.KindExec:
		s.watchExec(e.Tgid)
	case watch.KindExit:
		s.watchTaskExit(e)
	case watch.KindLost:
		s.watchLost(e.Lost)
	}
}

// watchExec looks at a process that called execve: a new match is
// watched; a watched one is recorded again (its pid rule still holds) or
// let go (it no longer matches).
func (s *Supervisor) watchExec(pid int) {
	w := s.watch
	id, err := watch.ReadIdent(pid)
	if err != nil || w.refused(&id) {
		return
	}
	old := w.procs[pid]
	rule, ok := w.match(&id)
	if (ok || old != nil) && s.ours(&id) {
		return
	}
	switch {
	case ok && old == nil:
		s.watchAdd(&id, rule)
	case ok:
		delete(w.procs, pid)
		s.watchAdd(&id, rule)
	case old != nil:
		delete(w.procs, pid)
		w.dirty = true
		s.log.Info("watch: process no longer matches, unwatched", "pid", pid, "exe", id.Exe, "rule", old.rule.String())
		s.publishWatch("unwatched", old, Exit{})
	}
}

// maxAncestors bounds the walk up a process's parents in ours.
const maxAncestors = 64

// ours reports whether id is respawn itself or one of its descendants:
// a server, what a server started (in its process group or in a session
// of its own), a pre-flight check. Those are respawn's own business: a
// server's daemon is its server's to manage. respawn is a subreaper, so
// an orphaned descendant is its child. It walks up the parents (bounded):
// call it only for a process a rule matched.
func (s *Supervisor) ours(id *watch.Ident) bool {
	self := os.Getpid()
	if id.Pid == self || s.byPid[id.Pid] != nil {
		return true
	}
	if r := s.byPid[id.Pgid]; r != nil && r.Pgid == id.Pgid {
		return true
	}
	for ppid, i := id.PPid, 0; ppid > 1 && i < maxAncestors; i++ {
		if ppid == self {
			return true
		}
		up, err := watch.ReadIdent(ppid)
		if err != nil {
			return false
		}
		ppid = up.PPid
	}
	return false
}

// refused reports whether an operator unwatched the process id by its
// pid.
func (w *watcher) refused(id *watch.Ident) bool {
	start, ok := w.unwatched[id.Pid]
	return ok && start == id.StartTime
}

// match returns the first rule that matches id: pid rules first.
func (w *watcher) match(id *watch.Ident) (watch.Rule, bool) {
	for pass := 0; pass < 2; pass++ {
		for i := range w.rules {
			r := &w.rules[i]
			if (r.Kind == watch.RulePid) == (pass == 0) && r.Match(id) {
				return *r, true
			}
		}
	}
	return watch.Rule{}, false
}

// watchAdd reads what a restart of id needs and watches it.
func (s *Supervisor) watchAdd(id *watch.Ident, rule watch.Rule) {
	w := s.watch
	p, err := watch.ReadProc(id.Pid)
	if err != nil {
		return // gone already
	}
	wp := &watched{Proc: p, rule: rule, seenRT: realtimeNs()}
	w.procs[id.Pid] = wp
	w.dirty = true
	w.fresh = append(w.fresh, id.Pid)
	attrs := []any{"pid", p.Pid, "name", p.Comm, "rule", rule.String(), "exe", p.Exe}
	if len(p.Missing) > 0 {
		attrs = append(attrs, "unreadable", p.Missing)
	}
	s.log.Info("watching", attrs...)
	s.publishWatch("exec", wp, Exit{})
	s.view = nil
}

// watchFollow makes the BPF filter follow the watched pids, then checks
// that each pid added since the last time is still there: one that ended
// before the filter let its exit through is gone, its exit unseen.
func (s *Supervisor) watchFollow() {
	w := s.watch
	pidsOnly := w.pidsOnly()
	if !w.dirty && pidsOnly == w.onlyPids {
		return
	}
	w.dirty, w.onlyPids = false, pidsOnly
	if c := w.conn.Load(); c != nil {
		set := c.SetWatched
		if pidsOnly {
			set = c.SetWatchedPids
		}
		if err := set(w.pids()); err != nil {
			s.log.Warn("watch: filter not updated: every exit is read", "err", err)
		}
	}
	fresh := w.fresh
	w.fresh = w.fresh[:0]
	for _, pid := range fresh {
		if p := w.procs[pid]; p != nil && !alive(&p.Proc) {
			s.watchGone(p)
		}
	}
}

// pidsOnly reports whether every rule is a pid rule: then the exec of no
// other process can matter, and the filter keeps out every other exec.
func (w *watcher) pidsOnly() bool {
	return !slices.ContainsFunc(w.rules, func(r watch.Rule) bool { return r.Kind != watch.RulePid })
}

func (w *watcher) pids() []int {
	pids := make([]int, 0, len(w.procs))
	for pid := range w.procs {
		pids = append(pids, pid)
	}
	slices.Sort(pids)
	return pids
}

// alive reports whether p's process is still running: same pid, same
// start time, and not ended (a zombie leader may run on in its threads).
func alive(p *watch.Proc) bool {
	id, err := watch.ReadIdent(p.Pid)
	return err == nil && id.StartTime == p.StartTime && (!id.Zombie || !watch.Ended(p.Pid, p.StartTime))
}

// watchTaskExit handles the exit of a task (a thread) of a watched
// process. The process ends with its last thread, most often its leader,
// whose exit status is then the process's. But a leader can end alone
// (pthread_exit in main, a status of 0) and leave the process running on
// its other threads: the process then ends with the last of them, and
// that one's status is the process's. A status other than 0 is a whole
// process's end (a fatal signal or exit_group).
func (s *Supervisor) watchTaskExit(e *watch.Event) {
	p := s.watch.procs[e.Tgid]
	if p == nil {
		return
	}
	x := exitOf(syscall.WaitStatus(e.ExitCode))
	switch {
	case e.Pid == e.Tgid && !x.Clean(), watch.Ended(e.Tgid, p.StartTime):
		s.watchExit(e.Tgid, x)
	case e.Pid == e.Tgid:
		s.log.Debug("watch: the main thread of a watched process ended, its other threads run on", "pid", e.Tgid, "name", p.Comm)
	}
}

// watchExit handles the end of a watched process.
func (s *Supervisor) watchExit(pid int, x Exit) {
	p := s.watch.procs[pid]
	if p == nil {
		return
	}
	delete(s.watch.procs, pid)
	s.watch.dirty = true
	s.view = nil
	s.endPidRules(pid)
	level := s.log.Info
	if !x.Clean() {
		level = s.log.Warn
	}
	level("watched process exited", "pid", pid, "name", p.Comm, "rule", p.rule.String(), "status", x.String())
	s.publishWatch("exit", p, x)
	if !x.Clean() {
		s.watchAct(p)
	}
}

// watchGone handles a watched process found gone without its exit seen:
// its status is unknown, and its rule's action applies.
func (s *Supervisor) watchGone(p *watched) {
	delete(s.watch.procs, p.Pid)
	s.watch.dirty = true
	s.view = nil
	s.endPidRules(p.Pid)
	s.log.Warn("watched process gone, its exit was not seen", "pid", p.Pid, "name", p.Comm, "rule", p.rule.String(), "status", "unknown")
	s.publishWatch("gone", p, Exit{Set: true, Err: "exit not seen"})
	s.watchAct(p)
}

// endPidRules removes the pid rules that name pid, whose process has
// ended: a pid rule names a process, not a number, and the number will
// be another process's one day.
func (s *Supervisor) endPidRules(pid int) {
	w := s.watch
	n := len(w.rules)
	w.rules = slices.DeleteFunc(w.rules, func(r watch.Rule) bool { return r.Kind == watch.RulePid && r.Pattern == strconv.Itoa(pid) })
	if len(w.rules) < n {
		s.log.Info("watch: rule removed: its process ended", "rule", "pid:"+strconv.Itoa(pid))
	}
}

// watchLost reports lost events once per episode, then rescans /proc:
// exits may have been missed, and new matches too.
func (s *Supervisor) watchLost(n uint64) {
	if n == 0 {
		s.watch.overruns++
		s.log.Warn("watch: proc connector overran, rescanning /proc", "overruns", s.watch.overruns)
	} else {
		s.log.Warn("watch: events lost", "dropped", n, "buffer", s.watch.ring.Cap())
	}
	s.publish(Transition{Name: "watch", Task: true, Watch: "lost", Lost: n, TimeNs: realtimeNs()})
	for _, pid := range s.watch.pids() {
		if p := s.watch.procs[pid]; !alive(&p.Proc) {
			s.watchGone(p)
		}
	}
	s.watchScan()
}

// watchScan looks through /proc for processes the rules match and that
// are not watched yet.
func (s *Supervisor) watchScan() {
	pids, err := watch.Pids()
	if err != nil {
		s.log.Warn("watch: /proc not scanned", "err", err)
		return
	}
	for _, pid := range pids {
		if s.watch.procs[pid] != nil {
			continue
		}
		id, err := watch.ReadIdent(pid)
		if err != nil || id.Zombie || s.watch.refused(&id) {
			continue
		}
		if rule, ok := s.watch.match(&id); ok && !s.ours(&id) {
			s.watchAdd(&id, rule)
		}
	}
	s.watchFollow()
}

// watchAct applies the rule's action to a watched process that ended
// abnormally (or unseen): with restart, what it left in its process group
// is killed, and it is started again as a server of ours.
func (s *Supervisor) watchAct(p *watched) {
	if p.rule.Effective() != watch.ActionRestart || s.stopping {
		return
	}
	if len(p.Argv) == 0 || missing(&p.Proc, "cmdline") {
		s.log.Error("watch: cannot restart: its command line is unknown", "pid", p.Pid, "name", p.Comm, "rule", p.rule.String(), "unreadable", p.Missing)
		return
	}
	s.killLeftovers(p)
	r := s.adoptServer(p)
	s.log.Info("restarting watched process as a server", "pid", p.Pid, "name", p.Comm, "server", r.Index, "rule", p.rule.String())
	s.publish(Transition{Index: r.Index, Name: p.Comm, Pid: p.Pid, TimeNs: realtimeNs(), Watch: "restart", Rule: p.rule.String()})
	s.fire(r, evStart, Exit{})
}

// killLeftovers kills what is left of the process group a dead watched
// process led (a forking server's workers), so that two generations never
// run side by side. A group it did not lead is not touched. That the kill
// reached the group says nothing of leftovers: the dead process is in it
// as a zombie until its parent reaps it, which is after the kernel has
// reported its exit; telling them apart would take a scan of /proc before
// the restart, so the kill is only a debug line.
//
// A group is killed by number, so it must still be the dead process's:
// if its pid already runs another process (the exit was read late, or
// found by a rescan), the dead one's group had emptied (a pid a group
// uses is not given out again), and the number is the new process's.
func (s *Supervisor) killLeftovers(p *watched) {
	g := p.Pgid
	if g != p.Pid || g <= 1 || g == syscall.Getpgrp() {
		return
	}
	if id, err := watch.ReadIdent(g); err == nil && id.StartTime != p.StartTime {
		s.log.Info("watch: the dead process's pid runs another process now: its group is left alone", "pid", p.Pid, "name", p.Comm)
		return
	}
	if syscall.Kill(-g, syscall.SIGKILL) == nil {
		s.log.Debug("watch: killed the process group the dead process led", "pid", p.Pid, "pgid", g)
	}
}

// adoptServer adds a server that starts p's program as it was recorded.
func (s *Supervisor) adoptServer(p *watched) *Server {
	r := &Server{Name: s.uniqueName(DefaultName(adoptedName(p)), nil), Argv: slices.Clone(p.Argv), Set: adoptedSettings(&p.Proc)}
	r.adopted = &adoption{rule: p.rule.String(), exe: p.Exe}
	r.path = p.Exe
	s.insertServer(r)
	return r
}

func adoptedName(p *watched) string {
	if p.Exe != "" {
		return p.Exe
	}
	return p.Argv[0]
}

// adoptedSettings are the settings that give a restart what /proc showed:
// working directory, whole environment, credentials. A field /proc would
// not give is left as respawn's own (and was reported when first seen).
func adoptedSettings(p *watch.Proc) Settings {
	st := Settings{Cwd: p.Cwd}
	if !missing(p, "environ") {
		st.Environ, st.EnvironSet = slices.Clone(p.Env), true
	}
	if !missing(p, "status") {
		st.User, st.UID = strconv.FormatUint(uint64(p.UID), 10), p.UID
		st.Group, st.GID = strconv.FormatUint(uint64(p.GID), 10), p.GID
		st.Groups, st.GroupsSet = slices.Clone(p.Groups), true
	}
	return st
}

// missing reports whether p.Missing names field.
func missing(p *watch.Proc, field string) bool {
	return slices.ContainsFunc(p.Missing, func(m string) bool { return strings.HasPrefix(m, field+":") })
}

// insertServer adds r after the servers, before the tasks, and numbers
// the tasks after it again (tasks are addressed by name).
func (s *Supervisor) insertServer(r *Server) {
	at := s.count(false)
	s.recs = slices.Insert(s.recs, at, r)
	for i := at; i < len(s.recs); i++ {
		s.recs[i].Index = i + 1
	}
	s.byName[r.Name] = r
	s.view = nil
}

// publishWatch streams an event of a watched process.
func (s *Supervisor) publishWatch(kind string, p *watched, x Exit) {
	s.publish(Transition{Name: p.Comm, Pid: p.Pid, Exit: x, TimeNs: realtimeNs(), Watch: kind, Rule: p.rule.String()})
}

// pauseWatch stops the reader before a live upgrade's snapshot and handles
// every event it had read: what is still in the socket is the new
// image's. It reports whether the reader stopped within the bound.
func (s *Supervisor) pauseWatch() bool {
	w := s.watch
	if w == nil || w.conn.Load() == nil || w.task.State != Alive {
		return true
	}
	select { // a resume the reader did not take: it was not pausing
	case <-w.resume:
	default:
	}
	w.pausing.Store(true)
	c := w.conn.Load()
	_ = c.Detach()
	select {
	case <-w.paused:
	case <-time.After(time.Second):
		s.resumeWatch() // and a reader that pauses later goes on at once
		return false
	}
	for w.ring.Len() > 0 {
		s.onWatchEvents()
	}
	return true
}

// resumeWatch starts the reader again after a live upgrade that failed.
func (s *Supervisor) resumeWatch() {
	w := s.watch
	if w == nil || !w.pausing.Load() {
		return
	}
	w.pausing.Store(false)
	if c := w.conn.Load(); c != nil {
		_ = c.Attach()
	}
	select {
	case w.resume <- struct{}{}:
	default:
	}
}
