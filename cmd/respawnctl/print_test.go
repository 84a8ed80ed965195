package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"respawn/control"
	"respawn/respawn"
)

// forged is a record whose texts try to add lines and columns of their own.
var forged = respawn.Info{
	Index: 1, Name: "a\n[2] fake", State: "ALIVE", Pid: 7, LastExit: "exit 1\n[3] x\ty",
	Argv: []string{"sleep", "\n[2] fake pid=1 state=ALIVE", "\t\x1b[2J"}, StartedAt: "2026\n",
	NextStart: "2026\nx", Revive: "revive\n[2] fake",
}

// Each printer shows the forged record on its own lines only, escaped.
func TestPrintEscapes(t *testing.T) {
	tests := []struct {
		name  string
		print func(*bytes.Buffer)
		lines int
		want  []string
	}{
		{name: "list", print: func(b *bytes.Buffer) { writeList(b, []respawn.Info{forged}, nil) }, lines: 2,
			want: []string{`"a\n[2] fake"`, ` exit 1 ... `, `sleep $'\n[2] fake pid=1 state=ALIVE' $'\t\x1b[2J'`}},
		{name: "status", print: func(b *bytes.Buffer) { writeStatus(b, forged) }, lines: 13,
			want: []string{`name:       "a\n[2] fake"`, `started:    "2026\n"`, `next start: at "2026\nx" ("2026\nx")`, `revive:     "revive\n[2] fake"`}},
		{name: "summary", print: func(b *bytes.Buffer) {
			b.WriteString(summary(control.Request{Cmd: "signal", Signal: "HUP\n"}, control.Answer{Status: &forged}) + "\n")
		}, lines: 1, want: []string{`[1] "a\n[2] fake" ALIVE pid 7: sent "HUP\n"`}},
		{name: "event", print: func(b *bytes.Buffer) {
			writeEvent(b, control.StreamLine{Event: control.Event{Index: 1, Name: "a\nb", From: "ALIVE", To: "DEAD", Exit: "exit 1\n"}})
		}, lines: 1, want: []string{`[1] "a\nb" ALIVE -> DEAD ("exit 1\n")`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			tt.print(&b)
			out := b.String()
			if n := strings.Count(out, "\n"); n != tt.lines || !strings.HasSuffix(out, "\n") {
				t.Errorf("%d lines, want %d:\n%s", n, tt.lines, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %s:\n%s", w, out)
				}
			}
		})
	}
}

// The RETRY column and the status lines show the restart policy: the
// retry a record is at, when a waiting one starts again, and for a buried
// one how to revive it.
func TestPrintRetry(t *testing.T) {
	now := time.Date(2026, 11, 29, 18, 0, 0, 0, time.UTC)
	at := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339Nano) }
	tests := []struct {
		name   string
		in     respawn.Info
		column string
		status []string
	}{
		{name: "never retried", in: respawn.Info{State: "ALIVE", Retries: 3}, column: "-", status: []string{"retry: 0/3"}},
		{name: "alive on its second retry", in: respawn.Info{State: "ALIVE", Retry: 2, Retries: 3}, column: "2/3", status: []string{"retry: 2/3"}},
		{name: "waiting for its first retry", in: respawn.Info{State: "DEAD", Retry: 1, Retries: 3, NextStart: at(149 * time.Millisecond)},
			column: "1/3 in 100ms"},
		{name: "paced, not retried", in: respawn.Info{State: "DEAD", Retries: 3, NextStart: at(2 * time.Second)}, column: "in 2s"},
		{name: "due already", in: respawn.Info{State: "DEAD", Retry: 3, Retries: 3, NextStart: at(-time.Second)}, column: "3/3 in 0s"},
		{name: "buried", in: respawn.Info{State: "BURIED", Retry: 3, Retries: 3, Revive: "respawnctl revive web, or SIGUSR2 to respawn"},
			column: "3/3", status: []string{"retry: 3/3", "revive: respawnctl revive web, or SIGUSR2 to respawn"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := retry(tt.in, now); got != tt.column {
				t.Errorf("RETRY column %q, want %q", got, tt.column)
			}
			if tt.in.NextStart != "" {
				return // status reads the clock
			}
			var b bytes.Buffer
			writeStatus(&b, tt.in)
			out := regexp.MustCompile(` +`).ReplaceAllString(b.String(), " ")
			for _, w := range tt.status {
				if !strings.Contains(out, w+"\n") {
					t.Errorf("status lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

// A long last exit keeps its start and the cause at its end; a panic
// keeps its first line.
func TestLastExit(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{name: "short", in: "signal SIGKILL", want: "signal SIGKILL"},
		{name: "spawn error", in: "error: fork/exec /opt/some/long/path/to/a/program/that/is/missing: no such file or directory",
			want: "error: fork/exec /op...is/missing: no such file or directory"},
		{name: "panic", in: "error: panic: boom\ngoroutine 1 [running]:", want: "error: panic: boom ..."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := lastExit(tt.in); got != tt.want || len([]rune(got)) > lastExitWidth {
				t.Errorf("lastExit = %q, want %q", got, tt.want)
			}
		})
	}
}
