package main

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"respawn/control"
	"respawn/respawn"
)

// showSource reports whether list shows a SOURCE column: while respawn
// watches something, or runs a server it took over from a watched
// process.
func showSource(list []respawn.Info, w *control.Watching) bool {
	return w != nil || slices.ContainsFunc(list, func(in respawn.Info) bool { return in.Source != "" })
}

// withSource is row, then src if the SOURCE column is shown, then last.
func withSource(show bool, row []string, src, last string) []string {
	if show {
		row = append(row, src)
	}
	return append(row, last)
}

// source is the SOURCE column: "watched RULE", or "-" for what respawn
// started itself.
func source(src, rule string) string {
	switch {
	case src == "":
		return "-"
	case rule == "":
		return esc(src)
	}
	return esc(src) + " " + esc(rule)
}

// writeWatchedRows writes a row of the list for each watched process;
// sd says the list has the READY and STATUS columns.
func writeWatchedRows(tw io.Writer, w *control.Watching, sd bool) {
	if w == nil {
		return
	}
	notify := ""
	if sd {
		notify = "-\t-\t"
	}
	for _, p := range w.Watched {
		fmt.Fprintf(tw, "-\t%s\tprocess\tWATCHED\t%s\t-\t-\t-\t-\t%s%s\t%s\n",
			esc(p.Name), pid(p.Pid), notify, source("watched", p.Rule), respawn.Quote(p.Argv))
	}
}

// writeWatchAnswer writes the answer to watch, unwatch or watch --reload.
func writeWatchAnswer(w io.Writer, req control.Request, ans control.Answer) {
	switch {
	case ans.Watching != nil:
		writeWatching(w, ans.Watching, time.Now())
	case ans.Picked != nil:
		fmt.Fprintf(w, "watching %s: %s picked up now\n", esc(req.Rule), processes(*ans.Picked))
	case ans.Unwatched != nil:
		fmt.Fprintf(w, "unwatched %s: %s no longer watched\n", esc(req.Rule), processes(*ans.Unwatched))
	case ans.Added != nil && ans.Removed != nil:
		fmt.Fprintf(w, "watch files read again: %s added, %s removed\n", plural(*ans.Added, "rule"), plural(*ans.Removed, "rule"))
	}
}

// writeWatching writes the rules, then a table of the watched processes
// as respawn recorded them at first sight, then what it could not read
// of each.
func writeWatching(w io.Writer, wg *control.Watching, now time.Time) {
	if len(wg.Rules) == 0 {
		fmt.Fprintln(w, "no watch rule in force")
	}
	for _, r := range wg.Rules {
		fmt.Fprintln(w, "rule "+esc(r))
	}
	if len(wg.Watched) == 0 {
		fmt.Fprintln(w, "no process watched")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "PID\tNAME\tACTION\tUID\tSINCE\tRULE\tCOMMAND")
	for _, p := range wg.Watched {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", pid(p.Pid), esc(p.Name), esc(p.Action), p.UID, since(p.Since, now), esc(p.Rule), respawn.Quote(p.Argv))
	}
	tw.Flush()
	for _, p := range wg.Watched {
		if len(p.Missing) > 0 {
			fmt.Fprintf(w, "pid %d: not read: %s\n", p.Pid, esc(strings.Join(p.Missing, "; ")))
		}
	}
}

// since is how long ago t (RFC 3339) was, to the second.
func since(t string, now time.Time) string {
	at, err := time.Parse(time.RFC3339Nano, t)
	if err != nil {
		return esc(t)
	}
	return max(now.Sub(at), 0).Round(time.Second).String()
}

// watchEvent is a watched process's event, for people:
// "TIME #SEQ watch exit pid=123 name=sleep rule=exe:/x status=signal SIGKILL".
func watchEvent(l control.StreamLine) string {
	s := fmt.Sprintf("%s #%d watch %s", esc(l.Time), l.Seq, esc(l.Watch))
	if l.Watch == "lost" {
		if l.Missed == 0 {
			return s + ": events of the kernel were lost, how many is unknown"
		}
		return s + ": " + plural(int(min(l.Missed, 1<<31)), "event") + " of the kernel lost"
	}
	s += " pid=" + strconv.Itoa(l.Pid) + " name=" + esc(l.Name)
	if l.Rule != "" {
		s += " rule=" + esc(l.Rule)
	}
	switch {
	case l.Watch == "gone":
		s += " status=unknown (its exit was not seen: the kernel's socket overran)"
	case l.Exit != "":
		s += " status=" + esc(l.Exit)
	}
	if l.Watch == "restart" && l.Index > 0 {
		s += " server=" + strconv.Itoa(l.Index)
	}
	return s
}

func processes(n int) string { return plural(n, "process") }

func plural(n int, what string) string {
	switch {
	case n == 1:
		return "1 " + what
	case strings.HasSuffix(what, "s"):
		return strconv.Itoa(n) + " " + what + "es"
	}
	return strconv.Itoa(n) + " " + what + "s"
}
