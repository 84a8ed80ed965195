package main

import (
	"bytes"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"respawn/control"
	"respawn/respawn"
)

func TestParseWatchCommandLine(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want control.Request
		err  string
	}{
		{name: "list the watched", args: []string{"watch"}, want: control.Request{Cmd: "watched"}},
		{name: "a pid", args: []string{"watch", "4242"}, want: control.Request{Cmd: "watch", Rule: "pid:4242"}},
		{name: "a rule", args: []string{"watch", "exe:/usr/sbin/*"}, want: control.Request{Cmd: "watch", Rule: "exe:/usr/sbin/*"}},
		{name: "a rule with its action", args: []string{"watch", "notify exe:/x"}, want: control.Request{Cmd: "watch", Rule: "exe:/x (notify)"}},
		{name: "--exe", args: []string{"watch", "--exe", "/usr/sbin/*"}, want: control.Request{Cmd: "watch", Rule: "exe:/usr/sbin/*"}},
		{name: "--name --action", args: []string{"watch", "--name=redis-server", "--action=restart"}, want: control.Request{Cmd: "watch", Rule: "name:redis-server (restart)"}},
		{name: "--regex", args: []string{"--regex", "^python3 .*worker", "watch"}, want: control.Request{Cmd: "watch", Rule: "regex:^python3 .*worker"}},
		{name: "--pid", args: []string{"watch", "--pid", "0042", "--action", "notify"}, want: control.Request{Cmd: "watch", Rule: "pid:42 (notify)"}},
		{name: "--reload", args: []string{"watch", "--reload"}, want: control.Request{Cmd: "watch-reload"}},
		{name: "unwatch a pid", args: []string{"unwatch", "4242"}, want: control.Request{Cmd: "unwatch", Rule: "4242"}},
		{name: "unwatch --pid", args: []string{"unwatch", "--pid=4242"}, want: control.Request{Cmd: "unwatch", Rule: "pid:4242"}},
		{name: "unwatch a rule", args: []string{"unwatch", "name:redis-server"}, want: control.Request{Cmd: "unwatch", Rule: "name:redis-server"}},
		{name: "unwatch --exe", args: []string{"unwatch", "--exe=/opt/*"}, want: control.Request{Cmd: "unwatch", Rule: "exe:/opt/*"}},
		{name: "bad glob", args: []string{"watch", "--exe", "/usr/["}, err: `watch: --exe: exe rule "/usr/[": bad glob: syntax error in pattern`},
		{name: "relative exe", args: []string{"watch", "--exe", "sbin/x"}, err: "watch: --exe: exe rule \"sbin/x\": not an absolute path"},
		{name: "bad regex", args: []string{"watch", "--regex", "("}, err: `watch: --regex: regex rule "(": missing closing ): "("`},
		{name: "pid 0", args: []string{"watch", "0"}, err: "watch: pid rule \"0\": a pid is 1 or more"},
		{name: "name with slash", args: []string{"watch", "--name", "a/b"}, err: "a name holds no '/'"},
		{name: "bad action", args: []string{"watch", "--exe=/x", "--action=kill"}, err: `watch: --action: action "kill": want restart or notify`},
		{name: "two actions", args: []string{"watch", "notify exe:/x", "--action=restart"}, err: "watch: two actions: notify in the rule, restart with --action"},
		{name: "two rules", args: []string{"watch", "--exe=/x", "--name=y"}, err: "watch: one rule at a time"},
		{name: "rule and reload", args: []string{"watch", "--reload", "--exe=/x"}, err: "watch: --reload takes no rule"},
		{name: "action alone", args: []string{"watch", "--action=notify"}, err: "watch: needs a PID, a RULE"},
		{name: "two arguments", args: []string{"watch", "1", "2"}, err: "watch: takes at most one PID or RULE"},
		{name: "unwatch nothing", args: []string{"unwatch"}, err: "unwatch: needs a PID, a RULE"},
		{name: "unwatch --action", args: []string{"unwatch", "1", "--action=notify"}, err: "unwatch: --action and --reload are for watch"},
		{name: "not a rule", args: []string{"watch", "/usr/bin/x"}, err: "want KIND:PATTERN"},
		{name: "watch flag elsewhere", args: []string{"list", "--exe=/x"}, err: "list: --exe is for watch and unwatch only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, req, err := parseCommandLine(tt.args, io.Discard)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || strings.Contains(err.Error(), "watch: watch:") {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || req != tt.want {
				t.Fatalf("got %+v, %v; want %+v", req, err, tt.want)
			}
		})
	}
}

// forgedWatched is a watched process whose texts try to add lines and
// columns of their own.
var forgedWatched = respawn.WatchedInfo{Pid: 4100, Name: "x\n[2] fake", Rule: "regex:a\tb", Action: "restart", UID: 100,
	Argv: []string{"x", "\n- y process WATCHED"}, Missing: []string{"environ: permission\ndenied"}, Since: "2026-11-29T18:00:00Z"}

// list shows the watched processes after the servers and before the
// tasks, and the SOURCE column, only while something is watched.
func TestListWatched(t *testing.T) {
	server := respawn.Info{Index: 1, Name: "web", State: "ALIVE", Pid: 7, Argv: []string{"nginx"}, LastExit: "-"}
	adopted := respawn.Info{Index: 2, Name: "sleep", State: "ALIVE", Pid: 9, Argv: []string{"sleep", "1000"}, LastExit: "-", Source: "watched", Rule: "exe:/usr/bin/*"}
	task := respawn.Info{Name: "control", Task: true, State: "ALIVE", LastExit: "-"}
	w := &control.Watching{Rules: []string{"regex:a\tb"}, Watched: []respawn.WatchedInfo{forgedWatched}}
	tests := []struct {
		name  string
		list  []respawn.Info
		w     *control.Watching
		lines []string // regexps of the rows, in order
	}{
		{name: "nothing watched", list: []respawn.Info{server, task}, lines: []string{
			`^INDEX +NAME +TYPE +STATE +PID +UPTIME +RESTARTS +RETRY +LAST-EXIT +COMMAND$`, `^1 +web +server `, `^- +control +task `}},
		{name: "watching", list: []respawn.Info{server, adopted, task}, w: w, lines: []string{
			`^INDEX +NAME +TYPE +STATE +PID +UPTIME +RESTARTS +RETRY +LAST-EXIT +SOURCE +COMMAND$`,
			`^1 +web +server +ALIVE +7 +.* +- +nginx$`,
			`^2 +sleep +server +ALIVE +9 +.* +watched exe:/usr/bin/\* +sleep 1000$`,
			`^- +"x\\n\[2\] fake" +process +WATCHED +4100 +- +- +- +- +watched "regex:a\\tb" +x \$'\\n- y process WATCHED'$`,
			`^- +control +task +ALIVE +.* +- +\(task\)$`}},
		{name: "adopted, no rule left", list: []respawn.Info{adopted}, lines: []string{
			`SOURCE +COMMAND$`, `^2 +sleep +server +ALIVE +9 +.* +watched exe:/usr/bin/\* +sleep 1000$`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			writeList(&b, tt.list, tt.w)
			rows := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
			if len(rows) != len(tt.lines) {
				t.Fatalf("%d rows, want %d:\n%s", len(rows), len(tt.lines), b.String())
			}
			for i, re := range tt.lines {
				if !regexp.MustCompile(re).MatchString(rows[i]) {
					t.Errorf("row %d %q does not match %s", i, rows[i], re)
				}
			}
		})
	}
}

// respawnctl watch prints the rules, the watched processes, and what
// respawn could not read of each, every text escaped onto its line.
func TestWriteWatching(t *testing.T) {
	now := time.Date(2026, 11, 29, 18, 5, 3, 0, time.UTC)
	var b bytes.Buffer
	writeWatching(&b, &control.Watching{Rules: []string{"regex:a\tb", "pid:4100 (restart)"}, Watched: []respawn.WatchedInfo{forgedWatched}}, now)
	want := []string{
		`rule "regex:a\tb"`,
		`rule pid:4100 (restart)`,
		`PID   NAME           ACTION   UID  SINCE  RULE          COMMAND`,
		`4100  "x\n[2] fake"  restart  100  5m3s   "regex:a\tb"  x $'\n- y process WATCHED'`,
		`pid 4100: not read: "environ: permission\ndenied"`,
	}
	if got := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), strings.Join(want, "\n"))
	}
	b.Reset()
	writeWatching(&b, &control.Watching{}, now)
	if b.String() != "no watch rule in force\nno process watched\n" {
		t.Errorf("nothing watched: %q", b.String())
	}
}

// respawnctl events writes a watched process's events on one line each.
func TestWatchEvents(t *testing.T) {
	ev := func(e control.Event) control.StreamLine { e.Time = "T"; e.Seq = 5; return control.StreamLine{Event: e} }
	tests := []struct {
		name string
		in   control.StreamLine
		want string
	}{
		{name: "exit", in: ev(control.Event{Watch: "exit", Pid: 123, Name: "sleep", Rule: "exe:/x", Exit: "signal SIGKILL"}),
			want: "T #5 watch exit pid=123 name=sleep rule=exe:/x status=signal SIGKILL"},
		{name: "exec", in: ev(control.Event{Watch: "exec", Pid: 123, Name: "sleep", Rule: "name:sleep"}),
			want: "T #5 watch exec pid=123 name=sleep rule=name:sleep"},
		{name: "gone", in: ev(control.Event{Watch: "gone", Pid: 123, Name: "sleep", Rule: "pid:123", Exit: "error: exit not seen"}),
			want: "T #5 watch gone pid=123 name=sleep rule=pid:123 status=unknown (its exit was not seen: the kernel's socket overran)"},
		{name: "restart", in: ev(control.Event{Watch: "restart", Index: 3, Pid: 130, Name: "sleep", Rule: "pid:123"}),
			want: "T #5 watch restart pid=130 name=sleep rule=pid:123 server=3"},
		{name: "lost", in: ev(control.Event{Watch: "lost", Name: "watch", Task: true, Missed: 12}), want: "T #5 watch lost: 12 events of the kernel lost"},
		{name: "lost, unknown", in: ev(control.Event{Watch: "lost"}), want: "T #5 watch lost: events of the kernel were lost, how many is unknown"},
		{name: "forged", in: ev(control.Event{Watch: "exit\n", Pid: 1, Name: "a\nb", Rule: "r\n", Exit: "e\n"}),
			want: `T #5 watch "exit\n" pid=1 name="a\nb" rule="r\n" status="e\n"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			writeEvent(&b, tt.in)
			if b.String() != tt.want+"\n" {
				t.Errorf("got  %q\nwant %q", b.String(), tt.want+"\n")
			}
		})
	}
}

// A server taken over from a watched process says so in its status.
func TestStatusWatchedSource(t *testing.T) {
	var b bytes.Buffer
	writeStatus(&b, respawn.Info{Index: 2, Name: "sleep", State: "ALIVE", Source: "watched", Rule: "exe:/usr/bin/*"})
	if !strings.Contains(b.String(), "source:    watched exe:/usr/bin/*\n") {
		t.Errorf("status:\n%s", b.String())
	}
}
