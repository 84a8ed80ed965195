package main

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	"respawn/respawn"
)

func TestParseCommandLine(t *testing.T) {
	one := []group{{argv: []string{"a"}}}
	tests := []struct {
		name   string
		args   []string
		check  func(t *testing.T, o *options)
		groups []group
		out    string // a substring of what is printed (help, version)
		err    string // a substring of the error; "" for success
	}{
		{
			name:   "defaults",
			args:   []string{"{", "a", "}"},
			groups: one,
			check: func(t *testing.T, o *options) {
				want(t, "interval", time.Duration(o.interval), 5*time.Second)
				want(t, "stop-timeout", time.Duration(o.stopTimeout), 9*time.Second)
				want(t, "stop grace", o.stopGrace(), 9*time.Second)
				want(t, "alarm", time.Duration(o.alarm), 0)
				want(t, "log-format", o.logFormat, "text")
				want(t, "leave-running", o.leaveRunning, false)
				want(t, "exit-when-buried", o.exitBuried, false)
				want(t, "linger", o.linger, false)
				want(t, "retries", o.retries, 3)
			},
		},
		{
			name:   "--retries=0 buries at once",
			args:   []string{"--retries=0", "{", "a", "}"},
			groups: one,
			check:  func(t *testing.T, o *options) { want(t, "retries", o.retries, 0) },
		},
		{
			name:   "--stop-timeout=0 is no grace, not the default",
			args:   []string{"--stop-timeout=0", "{", "a", "}"},
			groups: one,
			check:  func(t *testing.T, o *options) { want(t, "stop grace", o.stopGrace(), respawn.StopAtOnce) },
		},
		{
			name:   "--stop-timeout=0s likewise",
			args:   []string{"--stop-timeout=0s", "{", "a", "}"},
			groups: one,
			check:  func(t *testing.T, o *options) { want(t, "stop grace", o.stopGrace(), respawn.StopAtOnce) },
		},
		{
			name:   "integer seconds",
			args:   []string{"--interval=5", "{", "a", "}"},
			groups: one,
			check:  func(t *testing.T, o *options) { want(t, "interval", time.Duration(o.interval), 5*time.Second) },
		},
		{
			name:   "fractional seconds",
			args:   []string{"--interval=0.25", "{", "a", "}"},
			groups: one,
			check:  func(t *testing.T, o *options) { want(t, "interval", time.Duration(o.interval), 250*time.Millisecond) },
		},
		{
			name:   "go duration",
			args:   []string{"--interval=200ms", "{", "a", "}"},
			groups: one,
			check:  func(t *testing.T, o *options) { want(t, "interval", time.Duration(o.interval), 200*time.Millisecond) },
		},
		{
			name:   "separate value",
			args:   []string{"--interval", "2s", "--stop-timeout", "300ms", "{", "a", "}"},
			groups: one,
			check: func(t *testing.T, o *options) {
				want(t, "interval", time.Duration(o.interval), 2*time.Second)
				want(t, "stop-timeout", time.Duration(o.stopTimeout), 300*time.Millisecond)
			},
		},
		{
			name:   "every flag",
			args:   []string{"--alarm=60", "--leave-running", "--linger", "--log-format=json", "--log-level=debug", "{", "a", "}"},
			groups: one,
			check: func(t *testing.T, o *options) {
				want(t, "alarm", time.Duration(o.alarm), 60*time.Second)
				want(t, "leave-running", o.leaveRunning, true)
				want(t, "linger", o.linger, true)
				want(t, "log-format", o.logFormat, "json")
				want(t, "log-level", o.logLevel, "debug")
			},
		},
		{
			name:   "groups after flags with --",
			args:   []string{"--interval=1", "--", "{", "a", "}"},
			groups: one,
			check:  func(t *testing.T, o *options) { want(t, "interval", time.Duration(o.interval), time.Second) },
		},
		{
			name:   "flags inside a group belong to the server",
			args:   []string{"{", "a", "--interval=9", "-h", "}"},
			groups: []group{{argv: []string{"a", "--interval=9", "-h"}}},
			check:  func(t *testing.T, o *options) { want(t, "interval", time.Duration(o.interval), 5*time.Second) },
		},
		{name: "bad interval", args: []string{"--interval=bad", "{", "a", "}"}, err: `"bad" is neither seconds nor a duration`},
		{name: "negative interval", args: []string{"--interval=-1", "{", "a", "}"}, err: "out of range"},
		{name: "negative duration", args: []string{"--interval=-1s", "{", "a", "}"}, err: "negative"},
		{name: "zero interval", args: []string{"--interval=0", "{", "a", "}"}, err: "--interval must be more than 0"},
		{name: "NaN interval", args: []string{"--interval=NaN", "{", "a", "}"}, err: "out of range"},
		{name: "infinite interval", args: []string{"--interval=Inf", "{", "a", "}"}, err: "out of range"},
		{name: "missing value", args: []string{"--interval"}, err: "needs an argument"},
		{name: "unknown flag", args: []string{"--bogus", "{", "a", "}"}, err: "unknown flag: --bogus"},
		{name: "unknown shorthand", args: []string{"-z", "{", "a", "}"}, err: "unknown shorthand flag: 'z'"},
		{name: "negative retries", args: []string{"--retries=-1", "{", "a", "}"}, err: "--retries=-1: want a number from 0 to 1000"},
		{name: "retries over the limit", args: []string{"--retries=1001", "{", "a", "}"}, err: "--retries=1001: want a number from 0 to 1000"},
		{name: "retries not a number", args: []string{"--retries=x", "{", "a", "}"}, err: "invalid argument"},
		{name: "alarm over 60s", args: []string{"--alarm=61", "{", "a", "}"}, err: "--alarm is at most 60s"},
		{name: "alarm over 60s as a duration", args: []string{"--alarm=2m", "{", "a", "}"}, err: "--alarm is at most 60s"},
		{name: "bad log format", args: []string{"--log-format=xml", "{", "a", "}"}, err: `--log-format "xml": want text or json`},
		{name: "bad log level", args: []string{"--log-level=loud", "{", "a", "}"}, err: `--log-level "loud"`},
		{name: "no group", args: []string{"--linger"}, err: "no server given"},
		{name: "bad group after good flags", args: []string{"--interval=1", "{", "}"}, err: "empty group"},
		{name: "stray brace after --", args: []string{"--", "}"}, err: "stray '}'"},
		{name: "-h prints usage", args: []string{"-h"}, out: "usage: respawn [flags] { CMD ARG... }"},
		{name: "--help prints usage with the flags", args: []string{"--help", "{", "a", "}"}, out: "--stop-timeout"},
		{name: "help wins over a bad group", args: []string{"-h", "{"}, out: "usage: respawn"},
		{name: "--version", args: []string{"--version"}, out: "respawn " + version},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			o, groups, err := parseCommandLine(tt.args, &out)
			if tt.err != "" {
				if err == nil {
					t.Fatalf("parseCommandLine(%q) succeeded, want an error with %q", tt.args, tt.err)
				}
				checkOneLine(t, err)
				if !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %q does not contain %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseCommandLine(%q): %v", tt.args, err)
			}
			if tt.out != "" {
				if groups != nil {
					t.Errorf("groups %v with help or version, want none", groups)
				}
				if !strings.Contains(out.String(), tt.out) {
					t.Fatalf("output %q does not contain %q", out.String(), tt.out)
				}
				return
			}
			if out.Len() != 0 {
				t.Errorf("unexpected output %q", out.String())
			}
			if !reflect.DeepEqual(groups, tt.groups) {
				t.Errorf("groups = %#v, want %#v", groups, tt.groups)
			}
			if tt.check != nil {
				tt.check(t, o)
			}
		})
	}
}

// run refuses a bad command line with status 2 and exactly one line on
// stderr, before anything starts; help goes to stdout with status 0.
func TestRunUsage(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		status int
		stdout string
		stderr string
	}{
		{name: "no arguments", args: nil, status: 2, stderr: "respawn: no server given"},
		{name: "unknown flag", args: []string{"--nope", "{", "a", "}"}, status: 2, stderr: "respawn: unknown flag: --nope"},
		{name: "empty group", args: []string{"{", "}"}, status: 2, stderr: "respawn: server 1: empty group { }"},
		{name: "unterminated", args: []string{"{", "a"}, status: 2, stderr: "respawn: server 1: unterminated group, missing '}'"},
		{name: "stray brace", args: []string{"}"}, status: 2, stderr: "respawn: stray '}' at argument 1"},
		{name: "help", args: []string{"--help"}, status: 0, stdout: "usage: respawn"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if got := run(append([]string{"respawn"}, tt.args...), &stdout, &stderr); got != tt.status {
				t.Errorf("status %d, want %d", got, tt.status)
			}
			if tt.stderr != "" {
				e := stderr.String()
				if !strings.HasPrefix(e, tt.stderr) || !strings.HasSuffix(e, "\n") || strings.Count(e, "\n") != 1 {
					t.Errorf("stderr %q, want one line starting with %q", e, tt.stderr)
				}
				if stdout.Len() != 0 {
					t.Errorf("stdout %q, want nothing", stdout.String())
				}
			}
			if tt.stdout != "" {
				if !strings.HasPrefix(stdout.String(), tt.stdout) {
					t.Errorf("stdout %q, want it to start with %q", stdout.String(), tt.stdout)
				}
				if stderr.Len() != 0 {
					t.Errorf("stderr %q, want nothing", stderr.String())
				}
			}
		})
	}
}

func want[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}
