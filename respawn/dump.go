package respawn

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Info is a copy of one record, safe to use outside the event loop.
//
// Index is a server's 1-based position on the command line, and 0 (absent
// from JSON) for a task: tasks are addressed by name, so that servers keep
// their numbers whatever tasks a version of respawn runs.
type Info struct {
	Index      int      `json:"index,omitempty"`
	Name       string   `json:"name"`
	Task       bool     `json:"task,omitempty"`
	Pid        int      `json:"pid"`
	State      string   `json:"state"`
	StartedAt  string   `json:"started_at,omitempty"` // RFC 3339, of the last start
	UptimeSec  float64  `json:"uptime_s"`             // while ALIVE
	Restarts   int      `json:"restarts"`
	LastExit   string   `json:"last_exit"`
	ExitCode   *int     `json:"exit_code,omitempty"`
	ExitSignal string   `json:"exit_signal,omitempty"`
	Argv       []string `json:"argv,omitempty"`
	// OutputDropped counts the captured lines of the server that the log
	// could not take (a slow or stalled reader).
	OutputDropped uint64 `json:"output_dropped,omitempty"`

	// The restart policy (see README, States): Retries is the server's
	// --retries; Retry is the retry its current life is, or its next
	// start will be (deaths in a row sooner than the interval), 0 once a
	// life reaches the interval. NextStart is when a DEAD record waiting
	// (a retry or a paced respawn) starts again, RFC 3339. Revive is, for
	// a BURIED record, what starts it again.
	Retry     int    `json:"retry,omitempty"`
	Retries   int    `json:"retries"`
	NextStart string `json:"next_start,omitempty"`
	Revive    string `json:"revive,omitempty"`

	// Source is "watched" for a server respawn took over when a watched
	// process it did not start died (see package watch), and Rule the
	// rule that watched it.
	Source string `json:"source,omitempty"`
	Rule   string `json:"rule,omitempty"`

	// Acct is the kernel's accounting record of the last death (--acct),
	// once it has been read.
	Acct *Accounting `json:"acct,omitempty"`

	// Watchdog is the hardware watchdog's device, on the watchdog task.
	Watchdog *WatchdogInfo `json:"watchdog,omitempty"`
	// Notify is what the server said over sd_notify (READY=1, STATUS=,
	// its watchdog), while it is ALIVE; nil if nothing to show.
	Notify *NotifyInfo `json:"notify,omitempty"`

	startNs int64 // CLOCK_MONOTONIC of the start, for UptimeSec
}

// Dump is the supervisor's state as the SIGUSR1 info dump shows it.
type Dump struct {
	Time          string         `json:"time"`
	Version       string         `json:"version"`
	Pid           int            `json:"pid"`
	StartedAt     string         `json:"started_at"`
	Interval      string         `json:"interval"`
	Generation    int            `json:"generation"`
	LastUpgrade   string         `json:"last_upgrade,omitempty"`
	Counts        map[string]int `json:"counts"`
	Servers       []Info         `json:"servers"`
	Tasks         []Info         `json:"tasks"`
	EventsDropped uint64         `json:"events_dropped,omitempty"`
	EventSeq      uint64         `json:"event_seq"` // the last transition's sequence number
	Watch         *WatchDump     `json:"watch,omitempty"`
	Acct          *AcctDump      `json:"acct,omitempty"`
	Watchdog      *WatchdogInfo  `json:"watchdog,omitempty"`
	Notify        *NotifyDump    `json:"notify,omitempty"`
	Heartbeat     *HeartbeatDump `json:"heartbeat,omitempty"`
}

func rfc3339(ns int64) string {
	if ns == 0 {
		return ""
	}
	return time.Unix(0, ns).UTC().Format(time.RFC3339Nano)
}

// info copies r.
func (s *Supervisor) info(r *Server, now int64) Info {
	in := Info{
		Index: r.Index, Name: r.Name, Task: r.task != nil, Pid: r.Pid,
		State: r.State.String(), Restarts: r.Restarts, LastExit: r.Last.String(),
		Argv: append([]string(nil), r.Argv...),
	}
	if in.Task {
		in.Index = 0
	}
	if r.Started {
		in.StartedAt = rfc3339(r.StartRT)
	}
	if r.State == Alive {
		in.startNs = r.StartNs
		if now != 0 {
			in.UptimeSec = float64(now-r.StartNs) / 1e9
		}
	}
	s.infoRetry(&in, r)
	if a := r.adopted; a != nil {
		in.Source, in.Rule = "watched", a.rule
	}
	in.Acct = r.Last.Acct
	if s.wd != nil && r == s.wd.task {
		in.Watchdog = s.watchdogInfo()
	}
	in.Notify = s.notifyInfo(r)
	if r.Last.Set && r.Last.Err == "" {
		if r.Last.Signal != 0 {
			in.ExitSignal = signalName(r.Last.Signal)
		} else {
			c := r.Last.Code
			in.ExitCode = &c
		}
	}
	return in
}

// Snapshot returns the dump of the supervisor's state. It must run on the
// event loop (from a Do function). The records are built once per change
// of state and copied per call, so that clients asking again and again
// cost the loop little.
func (s *Supervisor) Snapshot() Dump {
	if s.view == nil {
		s.view = s.buildView()
	}
	now := monotonicNs()
	v := s.view
	d := Dump{
		Time: rfc3339(realtimeNs()), Version: s.cfg.Version, Pid: os.Getpid(), StartedAt: rfc3339(s.started),
		Interval: s.cfg.Interval.String(), Generation: s.generation, LastUpgrade: rfc3339(s.lastUpgrade),
		Counts: maps.Clone(v.counts), Servers: slices.Clone(v.servers), Tasks: slices.Clone(v.tasks),
		EventsDropped: s.dropped(), EventSeq: s.seq, Watch: s.watchDump(), Acct: s.acctDump(),
		Notify:    s.notifyDump(),
		Heartbeat: s.heartbeatDump(),
	}
	for _, list := range [][]Info{d.Servers, d.Tasks} {
		for i := range list {
			if list[i].startNs == 0 {
				continue
			}
			list[i].UptimeSec = float64(now-list[i].startNs) / 1e9
			if now-list[i].startNs >= int64(s.cfg.Interval) {
				list[i].Retry = 0 // past the interval: its retries are whole again
			}
		}
	}
	if d.Watchdog = s.watchdogInfo(); d.Watchdog != nil {
		for i := range d.Tasks { // the view's copy is of its last change
			if d.Tasks[i].Name == s.wd.task.Name {
				d.Tasks[i].Watchdog = d.Watchdog
			}
		}
	}
	for i := range d.Servers { // tasks have no index, and no output
		if r := s.recs[d.Servers[i].Index-1]; r.out != nil {
			d.Servers[i].OutputDropped = r.out.Dropped() // counted by the reader, not a change of state
		}
	}
	return d
}

// view is the records as Snapshot shows them, built after a change.
// Its slices are never modified once built: Snapshot hands out copies.
type view struct {
	servers, tasks []Info
	counts         map[string]int
}

func (s *Supervisor) buildView() *view {
	v := &view{servers: []Info{}, tasks: []Info{}, counts: map[string]int{}}
	for _, r := range s.recs {
		in := s.info(r, 0)
		if in.Task {
			v.tasks = append(v.tasks, in)
			continue
		}
		v.servers = append(v.servers, in)
		v.counts[strings.ToLower(in.State)]++
	}
	return v
}

// writeDump writes the SIGUSR1 info dump.
func (s *Supervisor) writeDump() {
	d := s.Snapshot()
	var err error
	if s.cfg.DumpJSON {
		err = json.NewEncoder(s.cfg.Dump).Encode(struct {
			Msg string `json:"msg"`
			Dump
		}{"info dump", d})
	} else {
		err = d.WriteText(s.cfg.Dump)
	}
	if err != nil {
		s.log.Warn("respawn: info dump not written", "err", err)
	}
}

// WriteText writes d as the human-readable info dump, in one write.
func (d Dump) WriteText(w io.Writer) error {
	b := make([]byte, 0, 256+160*(len(d.Servers)+len(d.Tasks)))
	b = fmt.Appendf(b, "respawn info dump at %s\n", d.Time)
	b = fmt.Appendf(b, "version: %s  pid: %d  started: %s  interval: %s\n", d.Version, d.Pid, d.StartedAt, d.Interval)
	up := d.LastUpgrade
	if up == "" {
		up = "never"
	}
	b = fmt.Appendf(b, "generation: %d  last upgrade: %s\n", d.Generation, up)
	b = fmt.Appendf(b, "servers: %d  alive: %d  dead: %d  buried: %d  cremated: %d  unborn: %d\n",
		len(d.Servers), d.Counts["alive"], d.Counts["dead"], d.Counts["buried"], d.Counts["cremated"], d.Counts["unborn"])
	for _, in := range d.Servers {
		b = appendInfoLine(b, in)
	}
	if len(d.Tasks) > 0 {
		b = fmt.Appendf(b, "tasks: %d\n", len(d.Tasks))
		for _, in := range d.Tasks {
			b = appendInfoLine(b, in)
		}
	}
	b = d.Watch.appendText(b)
	b = d.Acct.appendText(b)
	if d.Watchdog != nil {
		b = append(b, "watchdog: "...)
		b = append(b, Escape(d.Watchdog.String())...)
		b = append(b, '\n')
	}
	b = d.Notify.appendText(b)
	b = d.Heartbeat.appendText(b)
	b = append(b, "end of info dump\n"...)
	_, err := w.Write(b)
	return err
}

// appendInfoLine appends one record's line of the dump:
//
//	[INDEX] NAME pid=PID state=STATE started=TIME restarts=N [retry=K/N] [next=TIME] last="EXIT" cmd: ARGV
//
// A task's line starts [task] instead: it has no index.
// It is written without fmt: a dump holds a line per server. The name and
// the command line are escaped: a newline in either cannot forge a line.
func appendInfoLine(b []byte, in Info) []byte {
	if in.Task {
		b = append(b, "  [task] "...)
	} else {
		b = append(b, "  ["...)
		b = strconv.AppendInt(b, int64(in.Index), 10)
		b = append(b, "] "...)
	}
	b = appendEscaped(b, in.Name)
	b = append(b, " pid="...)
	b = strconv.AppendInt(b, int64(in.Pid), 10)
	b = append(b, " state="...)
	b = append(b, in.State...)
	b = append(b, " started="...)
	if in.StartedAt == "" {
		b = append(b, '-')
	} else {
		b = append(b, in.StartedAt...)
	}
	b = append(b, " restarts="...)
	b = strconv.AppendInt(b, int64(in.Restarts), 10)
	if in.Retry > 0 {
		b = append(b, " retry="...)
		b = append(b, retryOf(in.Retry, in.Retries)...)
	}
	if in.NextStart != "" {
		b = append(b, " next="...)
		b = append(b, in.NextStart...)
	}
	b = append(b, " last="...)
	b = strconv.AppendQuote(b, in.LastExit)
	if in.OutputDropped > 0 {
		b = append(b, " output_dropped="...)
		b = strconv.AppendUint(b, in.OutputDropped, 10)
	}
	if in.Acct != nil {
		b = append(b, " acct="...)
		b = strconv.AppendQuote(b, in.Acct.String())
	}
	b = appendNotify(b, in.Notify)
	if in.Source != "" {
		b = append(b, " source="...)
		b = appendEscaped(b, in.Source)
		b = append(b, " rule="...)
		b = appendEscaped(b, in.Rule)
	}
	b = append(b, " cmd: "...)
	if in.Task {
		b = append(b, "task"...)
	} else {
		b = appendQuoted(b, in.Argv)
	}
	return append(b, '\n')
}

// infoRetry fills in's restart policy fields from r.
func (s *Supervisor) infoRetry(in *Info, r *Server) {
	in.Retry, in.Retries = r.fast, s.retries(r)
	switch r.State {
	case Dead:
		if r.dueNs != 0 {
			in.NextStart = rfc3339(realtimeNs() + r.dueNs - monotonicNs())
		}
	case Buried:
		in.Revive = reviveHint(r)
	}
}
