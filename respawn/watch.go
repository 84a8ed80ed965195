package respawn

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"respawn/watch"
)

// WatchConfig turns on the proc events task (watch): processes respawn
// did not start, picked by rules, are watched through the kernel's proc
// connector, and restarted as respawn's own servers when they die
// abnormally (see package watch and README, Watching processes).
type WatchConfig struct {
	Rules   []watch.Rule // from --watch-exe, --watch-name, --watch-regex, --watch-pid
	Files   []WatchFile  // --watch-file: armourd configuration files, reread by ReloadWatchFiles
	Buffer  int          // --watch-buffer: events the ring holds; DefaultWatchBuffer if 0
	Options watch.Options
}

// WatchFile is an armourd configuration file and the action of its rules.
type WatchFile struct {
	Path   string
	Action watch.Action
}

// DefaultWatchBuffer is the ring's size when --watch-buffer is not given.
const DefaultWatchBuffer = 4096

// WatchedInfo is one watched process, as list, status and the dump show
// it: what was recorded at first sight, for its restart.
type WatchedInfo struct {
	Pid     int      `json:"pid"`
	Name    string   `json:"name"` // comm
	Rule    string   `json:"rule"`
	Action  string   `json:"action"` // restart or notify
	Exe     string   `json:"exe"`
	Argv    []string `json:"argv"`
	Cwd     string   `json:"cwd,omitempty"`
	UID     uint32   `json:"uid"`
	GID     uint32   `json:"gid"`
	Groups  []uint32 `json:"groups,omitempty"`
	Missing []string `json:"missing,omitempty"` // fields /proc would not give, with why
	Since   string   `json:"since"`             // RFC 3339: when respawn first saw it
}

// WatchDump is the watch task's state in the dump.
type WatchDump struct {
	Rules    []string      `json:"rules"`
	Watched  []WatchedInfo `json:"watched"`
	Received uint64        `json:"received"`         // events read from the socket, of every kind, in this image
	Buffer   int           `json:"buffer"`           // the ring's size
	Dropped  uint64        `json:"dropped"`          // events dropped by a full ring, in all
	Overruns uint64        `json:"overruns"`         // socket overruns (ENOBUFS), in all
	RcvBuf   int           `json:"rcvbuf"`           // the socket's receive buffer, bytes
	Masked   bool          `json:"masked"`           // the kernel filters by event type (6.6+)
	Filter   bool          `json:"bpf"`              // the BPF filter is attached
	State    string        `json:"state"`            // the task's state
	Reason   string        `json:"reason,omitempty"` // why the task is BURIED, if it is
}

// The operators' requests on watching; each must run on the event loop.

// Watched lists the watched processes, by pid.
func (s *Supervisor) Watched() []WatchedInfo {
	if s.watch == nil {
		return nil
	}
	list := make([]WatchedInfo, 0, len(s.watch.procs))
	for _, pid := range s.watch.pids() {
		list = append(list, s.watch.procs[pid].info())
	}
	return list
}

func (p *watched) info() WatchedInfo {
	action := "notify"
	if p.rule.Effective() == watch.ActionRestart {
		action = "restart"
	}
	return WatchedInfo{
		Pid: p.Pid, Name: p.Comm, Rule: p.rule.String(), Action: action, Exe: p.Exe, Argv: p.Argv, Cwd: p.Cwd,
		UID: p.UID, GID: p.GID, Groups: p.Groups, Missing: p.Missing, Since: rfc3339(p.seenRT),
	}
}

// WatchRules lists the rules in force, as Rule.String gives them.
func (s *Supervisor) WatchRules() []string {
	if s.watch == nil {
		return nil
	}
	rules := make([]string, len(s.watch.rules))
	for i, r := range s.watch.rules {
		rules[i] = r.String()
	}
	return rules
}

// AddWatch adds a rule at run time and applies it to the running
// processes at once (a /proc scan); it returns how many processes the
// rule picked up. A pid rule for a pid that does not exist, or that it
// does not pick up (respawn's own, a kernel thread, a zombie), is an
// error, and so is a rule already in force, or any rule when the watch
// task is not running (it says why).
func (s *Supervisor) AddWatch(r watch.Rule) (int, error) {
	w := s.watch
	if err := s.watchUsable(); err != nil {
		return 0, err
	}
	if slices.ContainsFunc(w.rules, func(o watch.Rule) bool { return o.Kind == r.Kind && o.Pattern == r.Pattern }) {
		return 0, fmt.Errorf("respawn: already watching %s", r.String())
	}
	pid := 0
	if r.Kind == watch.RulePid {
		pid, _ = strconv.Atoi(r.Pattern)
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			return 0, fmt.Errorf("respawn: no process %d", pid)
		}
	}
	before := len(w.procs)
	w.rules = append(w.rules, r)
	s.watchScan()
	if pid > 0 && w.procs[pid] == nil {
		// Kept, the rule would pick whichever process gets the pid next.
		w.rules = w.rules[:len(w.rules)-1]
		return 0, fmt.Errorf("respawn: process %d cannot be watched: it is respawn's own, a kernel thread, or ending", pid)
	}
	s.log.Info("watch: rule added", "rule", r.String())
	return len(w.procs) - before, nil
}

// watchUsable says why watch requests cannot be served, or nil.
func (s *Supervisor) watchUsable() error {
	w := s.watch
	switch {
	case w == nil:
		return errNoWatch
	case w.task.State != Alive:
		return fmt.Errorf("respawn: the watch task is %s: %s", w.task.State, w.task.Last.Err)
	case s.stopping:
		return ErrShuttingDown
	}
	return nil
}

// Unwatch removes the rule given as Rule.String or ParseRule reads it, or,
// for a bare pid, stops watching that process whatever rule picked it
// (and removes its pid rule): no rule picks it up again, until a live
// upgrade. It returns how many processes are no longer watched.
func (s *Supervisor) Unwatch(rule string) (int, error) {
	if err := s.watchUsable(); err != nil {
		return 0, err
	}
	if pid, err := strconv.Atoi(rule); err == nil {
		return s.unwatchPid(pid)
	}
	r, err := watch.ParseRule(rule)
	if err != nil {
		return 0, err
	}
	w := s.watch
	i := slices.IndexFunc(w.rules, func(o watch.Rule) bool { return o.Kind == r.Kind && o.Pattern == r.Pattern })
	if i < 0 {
		return 0, fmt.Errorf("respawn: no rule %s (see respawnctl watch)", r.String())
	}
	w.rules = slices.Delete(w.rules, i, i+1)
	s.log.Info("watch: rule removed", "rule", r.String())
	return s.rematch(), nil
}

func (s *Supervisor) unwatchPid(pid int) (int, error) {
	w := s.watch
	w.rules = slices.DeleteFunc(w.rules, func(o watch.Rule) bool { return o.Kind == watch.RulePid && o.Pattern == strconv.Itoa(pid) })
	p := w.procs[pid]
	if p == nil {
		return 0, fmt.Errorf("respawn: process %d is not watched", pid)
	}
	for q, start := range w.unwatched { // forget the processes gone since
		if id, err := watch.ReadIdent(q); err != nil || id.StartTime != start {
			delete(w.unwatched, q)
		}
	}
	w.unwatched[pid] = p.StartTime
	s.unwatch(p, "unwatched by an operator")
	return 1, nil
}

// rematch lets go of the watched processes no rule matches any more.
func (s *Supervisor) rematch() int {
	n := 0
	for _, pid := range s.watch.pids() {
		p := s.watch.procs[pid]
		if _, ok := s.watch.match(&p.Ident); !ok {
			s.unwatch(p, "no rule matches it any more")
			n++
		}
	}
	return n
}

func (s *Supervisor) unwatch(p *watched, why string) {
	delete(s.watch.procs, p.Pid)
	s.watch.dirty = true
	s.view = nil
	s.log.Info("watch: unwatched", "pid", p.Pid, "name", p.Comm, "rule", p.rule.String(), "why", why)
	s.publishWatch("unwatched", p, Exit{})
	s.watchFollow()
}

// ReloadWatchFiles rereads every --watch-file and replaces the rules they
// gave; it returns the rules added and removed. A file that cannot be
// read or parsed changes nothing, and is the error.
func (s *Supervisor) ReloadWatchFiles() (added, removed int, err error) {
	if err := s.watchUsable(); err != nil {
		return 0, 0, err
	}
	w := s.watch
	if len(w.cfg.Files) == 0 {
		return 0, 0, errors.New("respawn: no --watch-file to reread")
	}
	var fresh []watch.Rule
	for _, f := range w.cfg.Files {
		rules, err := watch.ReadArmourd(f.Path, f.Action)
		if err != nil {
			return 0, 0, err
		}
		fresh = append(fresh, rules...)
	}
	kept := slices.DeleteFunc(slices.Clone(w.rules), func(r watch.Rule) bool { return r.File != "" })
	key := func(r watch.Rule) string { return r.String() }
	old := map[string]bool{}
	for _, r := range w.rules {
		if r.File != "" {
			old[key(r)] = true
		}
	}
	for _, r := range fresh {
		if !old[key(r)] {
			added++
		}
		delete(old, key(r))
	}
	removed = len(old)
	w.rules = append(kept, fresh...)
	s.log.Info("watch: files reread", "added", added, "removed", removed, "rules", len(w.rules))
	s.rematch()
	s.watchScan()
	return added, removed, nil
}

// watchDump is the watch task's part of the dump, or nil.
func (s *Supervisor) watchDump() *WatchDump {
	w := s.watch
	if w == nil {
		return nil
	}
	d := &WatchDump{
		Rules: s.WatchRules(), Watched: s.Watched(), Buffer: w.ring.Cap(), Dropped: w.ring.Dropped(), Received: w.received.Load(),
		Overruns: w.overruns, Filter: !w.cfg.Options.NoFilter, State: w.task.State.String(),
	}
	if c := w.conn.Load(); c != nil {
		d.RcvBuf, d.Masked = c.RcvBuf(), c.Masked()
	}
	if w.task.State == Buried {
		d.Reason = w.task.Last.Err
	}
	return d
}

// appendText appends the watch task's part of the text dump.
func (d *WatchDump) appendText(b []byte) []byte {
	if d == nil {
		return b
	}
	b = fmt.Appendf(b, "watch: %s  rules: %d  watched: %d  received: %d  dropped: %d (ring of %d)  overruns: %d  rcvbuf: %d  masked: %t  bpf: %t\n",
		d.State, len(d.Rules), len(d.Watched), d.Received, d.Dropped, d.Buffer, d.Overruns, d.RcvBuf, d.Masked, d.Filter)
	if d.Reason != "" {
		b = fmt.Appendf(b, "  reason: %s\n", d.Reason)
	}
	for _, r := range d.Rules {
		b = fmt.Appendf(b, "  rule %s\n", Escape(r))
	}
	for _, p := range d.Watched {
		b = appendWatchedLine(b, &p)
	}
	return b
}

// appendWatchedLine appends a watched process's line of the text dump.
// Its name, executable and command line are the process's own choice
// (comm may hold a newline): each is escaped, so that it cannot forge a
// line of the dump.
func appendWatchedLine(b []byte, p *WatchedInfo) []byte {
	b = fmt.Appendf(b, "  watched pid=%d name=%s rule=%s action=%s exe=%s cmd=%s\n",
		p.Pid, Escape(p.Name), Escape(p.Rule), p.Action, Escape(p.Exe), Quote(p.Argv))
	if len(p.Missing) > 0 {
		b = fmt.Appendf(b, "    unreadable: %s\n", Escape(strings.Join(p.Missing, "; ")))
	}
	return b
}
