package main

import (
	"bytes"
	"strings"
	"testing"

	"respawn/control"
	"respawn/respawn"
)

// forged is a record whose texts try to add lines and columns of their own.
var forged = respawn.Info{
	Index: 1, Name: "a\n[2] fake", State: "ALIVE", Pid: 7, LastExit: "exit 1\n[3] x\ty",
	Argv: []string{"sleep", "\n[2] fake pid=1 state=ALIVE", "\t\x1b[2J"}, StartedAt: "2026\n",
}

// Each printer shows the forged record on its own lines only, escaped.
func TestPrintEscapes(t *testing.T) {
	tests := []struct {
		name  string
		print func(*bytes.Buffer)
		lines int
		want  []string
	}{
		{name: "list", print: func(b *bytes.Buffer) { writeList(b, []respawn.Info{forged}) }, lines: 2,
			want: []string{`"a\n[2] fake"`, ` exit 1 ... `, `sleep $'\n[2] fake pid=1 state=ALIVE' $'\t\x1b[2J'`}},
		{name: "status", print: func(b *bytes.Buffer) { writeStatus(b, forged) }, lines: 10,
			want: []string{`name:      "a\n[2] fake"`, `started:   "2026\n"`}},
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
