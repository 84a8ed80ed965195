package control

import (
	"fmt"
	"strconv"
	"strings"

	"respawn/respawn"
	"respawn/watch"
)

// Watching is what the watch task watches: the rules in force, as
// watch.Rule.String gives them, and the processes they picked, by pid.
// It is the "watching" of the answers to watched (always) and list (when
// there is a rule or a watched process).
type Watching struct {
	Rules   []string              `json:"rules"`
	Watched []respawn.WatchedInfo `json:"watched"`
}

// checkRule checks the rule of a watch or unwatch request. Unwatch takes
// a pid alone as is: it stops watching that process, whatever rule
// picked it.
func checkRule(cmd, s string) error {
	var err error
	switch {
	case cmd == "unwatch" && isPid(s):
		_, err = strconv.Atoi(s)
	default:
		_, err = watch.ParseTarget(s)
	}
	if err != nil {
		return fmt.Errorf("rule: %s", strings.TrimPrefix(err.Error(), "watch: "))
	}
	return nil
}

func isPid(s string) bool { return s != "" && strings.Trim(s, "0123456789") == "" }

// watch adds a rule; the answer says how many processes it picked up at
// once.
func (cl *client) watch(req Request) Answer {
	r, err := watch.ParseTarget(req.Rule)
	if err != nil { // DecodeRequest checked it
		return result(err)
	}
	var n int
	return cl.counted(func(s *respawn.Supervisor) error {
		var err error
		n, err = s.AddWatch(r)
		return err
	}, func(a *Answer) { a.Picked = &n })
}

// unwatch removes a rule, or stops watching one pid.
func (cl *client) unwatch(req Request) Answer {
	var n int
	return cl.counted(func(s *respawn.Supervisor) error {
		var err error
		n, err = s.Unwatch(req.Rule)
		return err
	}, func(a *Answer) { a.Unwatched = &n })
}

// watchReload rereads the --watch-file files.
func (cl *client) watchReload(Request) Answer {
	var added, removed int
	return cl.counted(func(s *respawn.Supervisor) error {
		var err error
		added, removed, err = s.ReloadWatchFiles()
		return err
	}, func(a *Answer) { a.Added, a.Removed = &added, &removed })
}

// watched lists the rules and the watched processes.
func (cl *client) watched(Request) Answer {
	var w *Watching
	ans := result(cl.do(func(s *respawn.Supervisor) { w = watchingOf(s, true) }))
	ans.Watching = w
	return ans
}

// counted runs fn on the event loop and, if it succeeded, lets set put
// its counts in the answer.
func (cl *client) counted(fn func(*respawn.Supervisor) error, set func(*Answer)) Answer {
	var ferr error
	if err := cl.do(func(s *respawn.Supervisor) { ferr = fn(s) }); err != nil {
		return result(err)
	}
	ans := result(ferr)
	if ferr == nil {
		set(&ans)
	}
	return ans
}

// watchingOf is what s watches; nil, unless always, if that is nothing.
// It must run on the event loop.
func watchingOf(s *respawn.Supervisor, always bool) *Watching {
	rules, procs := s.WatchRules(), s.Watched()
	if !always && len(rules) == 0 && len(procs) == 0 {
		return nil
	}
	if rules == nil {
		rules = []string{}
	}
	if procs == nil {
		procs = []respawn.WatchedInfo{}
	}
	return &Watching{Rules: rules, Watched: procs}
}

// watchEvent fills the fields of a watched process's event: it has no
// states, and its exit, if it is one, is as the kernel told it.
func watchEvent(ev *Event, t respawn.Transition) {
	ev.Watch, ev.Rule, ev.Missed = t.Watch, t.Rule, t.Lost
	ev.From, ev.To = "", ""
}
