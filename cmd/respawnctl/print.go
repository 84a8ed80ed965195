package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"respawn/control"
	"respawn/respawn"
)

// print writes a successful answer for people.
func (c *ctl) print(req control.Request, ans control.Answer) {
	switch {
	case ans.List != nil:
		writeList(c.out, ans.List, ans.Watching)
	case ans.Watching != nil || ans.Picked != nil || ans.Unwatched != nil || ans.Added != nil:
		writeWatchAnswer(c.out, req, ans)
	case ans.Dump != nil:
		_ = ans.Dump.WriteText(c.out)
	case ans.Revived != nil:
		fmt.Fprintf(c.out, "revived %d\n", *ans.Revived)
	case req.Cmd == "shutdown":
		fmt.Fprintln(c.out, "shutting down: every server is being stopped; respawn exits once they have ended")
	case ans.Status != nil && req.Cmd == "status":
		writeStatus(c.out, *ans.Status)
	case ans.Status != nil:
		fmt.Fprintln(c.out, summary(req, ans))
	}
}

// writeList writes the list as a table, a row per record, servers then
// tasks: TYPE says which, and a task's INDEX is "-" (tasks are addressed
// by name). Every text from the supervisor is escaped (respawn.Escape): a
// tab or a newline there cannot shift a column or forge a row. The first
// three columns are single words, for scripts (awk '{print $2}').
//
// While respawn watches processes, the processes it watches come after
// the servers (TYPE process, STATE WATCHED), and a SOURCE column before
// COMMAND says "watched" and the rule for them and for a server respawn
// took over from a watched process, "-" for the others.
func writeList(w io.Writer, list []respawn.Info, watching *control.Watching) {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	src, sd := showSource(list, watching), showNotify(list)
	head := []string{"INDEX", "NAME", "TYPE", "STATE", "PID", "UPTIME", "RESTARTS", "RETRY", "LAST-EXIT"}
	if sd {
		head = append(head, "READY", "STATUS")
	}
	fmt.Fprintln(tw, strings.Join(withSource(src, head, "SOURCE", "COMMAND"), "\t"))
	now := time.Now()
	rows := func(in respawn.Info) {
		row := []string{index(in), esc(in.Name), kind(in), esc(in.State), pid(in.Pid), uptime(in), strconv.Itoa(in.Restarts), retry(in, now), lastExit(in.LastExit)}
		row = withNotify(sd, row, in)
		fmt.Fprintln(tw, strings.Join(withSource(src, row, source(in.Source, in.Rule), command(in)), "\t"))
	}
	watchedDone := !src
	for _, in := range list {
		if in.Task && !watchedDone {
			writeWatchedRows(tw, watching, sd)
			watchedDone = true
		}
		rows(in)
	}
	if !watchedDone {
		writeWatchedRows(tw, watching, sd)
	}
	tw.Flush()
}

func index(in respawn.Info) string {
	if in.Task {
		return "-"
	}
	return strconv.Itoa(in.Index)
}

func kind(in respawn.Info) string {
	if in.Task {
		return "task"
	}
	return "server"
}

// lastExit is a last exit for the table, at most lastExitWidth runes: a
// longer one (a spawn or task error) keeps its start and its end, where
// the cause is ("error: fork/exec ...: no such file or directory"), with
// "..." between; a task's panic keeps its first line. status shows it
// whole.
func lastExit(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i] + " ..."
	}
	s = esc(s)
	r := []rune(s)
	if len(r) <= lastExitWidth {
		return s
	}
	head := lastExitWidth / 3
	return string(r[:head]) + "..." + string(r[len(r)-(lastExitWidth-head-3):])
}

const lastExitWidth = 60

// writeStatus writes one record, a field a line.
func writeStatus(w io.Writer, in respawn.Info) {
	tw := tabwriter.NewWriter(w, 0, 8, 1, ' ', 0)
	started := in.StartedAt
	if started == "" {
		started = "-"
	}
	fields := [][2]string{
		{"index", index(in)}, {"name", esc(in.Name)}, {"type", kind(in)}, {"state", esc(in.State)}, {"pid", pid(in.Pid)},
		{"started", esc(started)}, {"uptime", uptime(in)}, {"restarts", strconv.Itoa(in.Restarts)},
		{"retry", retryOf(in.Retry, in.Retries)},
	}
	if in.NextStart != "" {
		fields = append(fields, [2]string{"next start", nextStart(in, time.Now()) + " (" + esc(in.NextStart) + ")"})
	}
	if in.Revive != "" {
		fields = append(fields, [2]string{"revive", esc(in.Revive)})
	}
	fields = append(fields, notifyFields(in)...)
	fields = append(fields, [2]string{"last exit", esc(in.LastExit)})
	if in.Acct != nil {
		fields = append(fields, [2]string{"accounting", esc(in.Acct.String())})
	}
	if wd := in.Watchdog; wd != nil {
		fields = append(fields, watchdogFields(wd)...)
	}
	fields = append(fields, [2]string{"command", command(in)})
	if in.Source != "" {
		fields = append(fields, [2]string{"source", source(in.Source, in.Rule)})
	}
	for _, f := range fields {
		fmt.Fprintf(tw, "%s:\t%s\n", f[0], f[1])
	}
	tw.Flush()
}

// retry is the list's RETRY column: the retry a record is at (k/n) and,
// for one waiting in DEAD, when it starts again; "-" for neither.
func retry(in respawn.Info, now time.Time) string {
	var parts []string
	if in.Retry > 0 {
		parts = append(parts, retryOf(in.Retry, in.Retries))
	}
	if in.NextStart != "" {
		parts = append(parts, nextStart(in, now))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}

func retryOf(k, n int) string { return strconv.Itoa(k) + "/" + strconv.Itoa(n) }

// nextStart is "in D": how long until a DEAD record starts again, to the
// tenth of a second ("in 0s" once due).
func nextStart(in respawn.Info, now time.Time) string {
	at, err := time.Parse(time.RFC3339Nano, in.NextStart)
	if err != nil {
		return "at " + esc(in.NextStart)
	}
	d := max(at.Sub(now), 0)
	if d < time.Minute {
		d = d.Round(100 * time.Millisecond)
	} else {
		d = d.Round(time.Second)
	}
	return "in " + d.String()
}

// summary is one line on the target of stop, start, restart, reload,
// signal or revive.
func summary(req control.Request, ans control.Answer) string {
	in := *ans.Status
	s := esc(in.Name) + " " + esc(in.State)
	if !in.Task {
		s = "[" + strconv.Itoa(in.Index) + "] " + s
	}
	if in.Pid > 0 {
		s += " pid " + strconv.Itoa(in.Pid)
	}
	switch {
	case req.Cmd == "stop" && in.State == "ALIVE":
		s += ": stop signal sent, cremated when it ends"
	case req.Cmd == "stop" && req.Wait:
		s += ": stopped"
	case req.Cmd == "restart":
		s += ": restarted"
	case req.Cmd == "reload":
		s += ": sent " + esc(ans.Sent)
	case req.Cmd == "signal":
		s += ": sent " + esc(req.Signal)
	}
	return s
}

func pid(p int) string {
	if p <= 0 {
		return "-"
	}
	return strconv.Itoa(p)
}

func command(in respawn.Info) string {
	if in.Watchdog != nil {
		return "(task) " + esc(in.Watchdog.String())
	}
	if in.Task {
		return "(task)"
	}
	return respawn.Quote(in.Argv)
}

// uptime is how long an ALIVE record has run, to the second.
func uptime(in respawn.Info) string {
	if in.State != "ALIVE" {
		return "-"
	}
	d := time.Duration(in.UptimeSec * float64(time.Second)).Round(time.Second)
	if d >= 24*time.Hour {
		return fmt.Sprintf("%dd%dh", d/(24*time.Hour), d%(24*time.Hour)/time.Hour)
	}
	return d.String()
}

// esc is respawn.Escape: text from the supervisor, shown on one line.
func esc(s string) string { return respawn.Escape(s) }

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n-3], "") + "..."
}

// writeEvent writes one line of the events stream for people.
func writeEvent(w io.Writer, l control.StreamLine) {
	switch {
	case l.Watch != "":
		fmt.Fprintln(w, watchEvent(l))
		return
	case l.Dropped > 0:
		fmt.Fprintf(w, "dropped %d events: respawnctl did not keep up\n", l.Dropped)
		return
	case l.Reset:
		fmt.Fprintln(w, "reconnected to a supervisor that does not know the events before: some may be missing")
		return
	case l.Lost > 0:
		fmt.Fprintf(w, "lost %d events while reconnecting: more happened than respawn keeps (%d)\n", l.Lost, respawn.EventHistory)
		return
	}
	who := "[task]"
	if !l.Task {
		who = "[" + strconv.Itoa(l.Index) + "]"
	}
	s := fmt.Sprintf("%s #%d %s %s %s -> %s", esc(l.Time), l.Seq, who, esc(l.Name), esc(l.From), esc(l.To))
	if l.Accounted {
		s = fmt.Sprintf("%s #%d %s %s accounted", esc(l.Time), l.Seq, who, esc(l.Name))
	}
	if l.Pid > 0 {
		s += " pid " + strconv.Itoa(l.Pid)
	}
	if l.Exit != "" && !l.Accounted {
		s += " (" + esc(l.Exit) + ")"
	}
	if l.Acct != nil {
		s += " acct: " + esc(l.Acct.String())
	}
	fmt.Fprintln(w, s)
}

// watchdogFields are the watchdog task's rows of status: its device,
// timeout, last keepalive and whether it is petting.
func watchdogFields(wd *respawn.WatchdogInfo) [][2]string {
	petting := "yes"
	if !wd.Petting {
		petting = "no"
		if wd.Why != "" {
			petting += " (" + esc(wd.Why) + ")"
		}
	}
	last := "-"
	if wd.LastKeepalive != "" {
		last = esc(wd.LastKeepalive)
	}
	dev := esc(wd.Device)
	if wd.Identity != "" {
		dev += " (" + esc(wd.Identity) + ")"
	}
	return [][2]string{
		{"watchdog", dev + " " + esc(wd.State)},
		{"timeout", time.Duration(wd.TimeoutSec * float64(time.Second)).String()},
		{"petting", petting},
		{"last keepalive", last},
		{"keepalives", strconv.FormatUint(wd.Keepalives, 10) + ", the latest " + time.Duration(wd.MaxLateSec*float64(time.Second)).Round(time.Microsecond).String() + " past its time"},
	}
}
