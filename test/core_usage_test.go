//go:build linux

package test

import (
	"os"
	"strings"
	"testing"
)

// A bad command line is refused with status 2 and one line on stderr that
// names the problem, and nothing is started: the well-formed groups beside
// the bad one would record their start in a file.
func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args func(rec []string) []string
		want string
	}{
		{name: "empty group", args: func(rec []string) []string { return cat(rec, []string{"{", "}"}) }, want: "server 2: empty group"},
		{name: "unterminated group", args: func(rec []string) []string { return cat(rec, []string{"{", "sleep", "1"}) }, want: "server 2: unterminated group, missing '}'"},
		{name: "unterminated by a nested brace", args: func(rec []string) []string { return cat(rec[:len(rec)-1], []string{"{", "}"}) }, want: "server 1: unterminated group"},
		{name: "stray brace", args: func(rec []string) []string { return cat(rec, []string{"}"}) }, want: "stray '}' at argument"},
		{name: "word outside a group", args: func(rec []string) []string { return cat(rec, []string{"sleep"}) }, want: `argument "sleep" is outside any { } group`},
		{name: "unknown flag", args: func(rec []string) []string { return cat([]string{"--frobnicate"}, rec) }, want: "unknown flag: --frobnicate"},
		{name: "bad interval", args: func(rec []string) []string { return cat([]string{"--interval=soon"}, rec) }, want: `"soon" is neither seconds nor a duration`},
		{name: "alarm over 60s", args: func(rec []string) []string { return cat([]string{"--alarm=61"}, rec) }, want: "--alarm is at most 60s"},
		{name: "bad log format", args: func(rec []string) []string { return cat([]string{"--log-format=yaml"}, rec) }, want: "--log-format"},
		{name: "duplicate names", args: func(rec []string) []string {
			return cat([]string{"{", "@a", "true", "}"}, rec[:1], []string{"@a"}, rec[1:])
		}, want: `both named "a"`},
		{name: "numeric name", args: func(rec []string) []string { return cat(rec[:1], []string{"@2"}, rec[1:]) }, want: `name "2": a number would read as an index`},
		{name: "name with a newline", args: func(rec []string) []string { return cat(rec[:1], []string{"@a\n[2] b"}, rec[1:]) }, want: `name "a\n[2] b": only letters`},
		{name: "empty name", args: func(rec []string) []string { return cat(rec[:1], []string{"@"}, rec[1:]) }, want: `name "": must be 1 to 64`},
		{name: "no group", args: func([]string) []string { return []string{"--linger"} }, want: "no server given"},
		{name: "nothing at all", args: func([]string) []string { return nil }, want: "no server given"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := tempFile(t, "started")
			rec := []string{"{", selfBin, "helper", "record", file, "}"}
			code, stdout, stderr := runUsage(t, tt.args(rec)...)
			if code != 2 {
				t.Errorf("exit status %d, want 2", code)
			}
			if !strings.HasPrefix(stderr, "respawn: ") || !strings.HasSuffix(stderr, "\n") || strings.Count(stderr, "\n") != 1 {
				t.Errorf("stderr %q, want one line starting with \"respawn: \"", stderr)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr %q does not name the problem (%q)", stderr, tt.want)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
			checkNoChildren(t)
			if _, err := os.Stat(file); err == nil {
				t.Errorf("a server was started: %q", lines(file))
			}
		})
	}
}

// -h prints the usage on stdout and exits 0 without starting anything.
func TestUsageHelp(t *testing.T) {
	file := tempFile(t, "started")
	code, stdout, stderr := runUsage(t, "-h", "{", selfBin, "helper", "record", file, "}")
	if code != 0 || stderr != "" || !strings.HasPrefix(stdout, "usage: respawn [flags] { CMD ARG... }") {
		t.Fatalf("status %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	for _, f := range []string{"--interval", "--alarm", "--stop-timeout", "--leave-running", "--linger", "--log-format"} {
		if !strings.Contains(stdout, f) {
			t.Errorf("usage does not mention %s", f)
		}
	}
	checkNoChildren(t)
	if _, err := os.Stat(file); err == nil {
		t.Error("a server was started")
	}
}

func cat(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}
