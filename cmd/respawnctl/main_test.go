package main

import (
	"io"
	"strings"
	"testing"
	"time"

	"respawn/control"
	"respawn/respawn"
)

func TestParseCommandLine(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want control.Request
		sock string
		json bool
		err  string
	}{
		{name: "list", args: []string{"list"}, want: control.Request{Cmd: "list"}},
		{name: "socket and json", args: []string{"--socket", "/x.sock", "--json", "dump"}, want: control.Request{Cmd: "dump"}, sock: "/x.sock", json: true},
		{name: "short socket", args: []string{"-s", "/y.sock", "events"}, want: control.Request{Cmd: "events"}, sock: "/y.sock"},
		{name: "flags after the command", args: []string{"status", "web", "--json"}, want: control.Request{Cmd: "status", Target: "web"}, json: true},
		{name: "revive all", args: []string{"revive"}, want: control.Request{Cmd: "revive"}},
		{name: "revive one", args: []string{"revive", "3"}, want: control.Request{Cmd: "revive", Target: "3"}},
		{name: "signal", args: []string{"signal", "web", "HUP"}, want: control.Request{Cmd: "signal", Target: "web", Signal: "HUP"}},
		{name: "dash target after --", args: []string{"status", "--", "-x"}, want: control.Request{Cmd: "status", Target: "-x"}},
		{name: "restart", args: []string{"restart", "web"}, want: control.Request{Cmd: "restart", Target: "web"}},
		{name: "reload", args: []string{"reload", "2"}, want: control.Request{Cmd: "reload", Target: "2"}},
		{name: "shutdown", args: []string{"shutdown"}, want: control.Request{Cmd: "shutdown"}},
		{name: "stop --wait", args: []string{"stop", "--wait", "web"}, want: control.Request{Cmd: "stop", Target: "web", Wait: true}},
		{name: "wait not for start", args: []string{"start", "--wait", "web"}, err: "start: --wait is for stop only"},
		{name: "bad signal", args: []string{"signal", "web", "HUPP"}, err: `signal: unknown signal "HUPP"`},
		{name: "typo", args: []string{"restat", "web"}, err: `unknown command "restat"; did you mean "restart"?`},
		{name: "nothing", args: nil, err: "no command"},
		{name: "unknown", args: []string{"reboot"}, err: `unknown command "reboot"`},
		{name: "stop without target", args: []string{"stop"}, err: "stop: needs one TARGET"},
		{name: "revive two", args: []string{"revive", "a", "b"}, err: "revive: takes at most one TARGET"},
		{name: "upgrade with argument", args: []string{"upgrade", "now"}, err: "upgrade: takes no argument"},
		{name: "signal without signal", args: []string{"signal", "web"}, err: "signal: needs TARGET and SIGNAL"},
		{name: "bad timeout", args: []string{"--timeout=0s", "list"}, err: "--timeout must be more than 0"},
		{name: "unknown flag", args: []string{"--force", "list"}, err: "unknown flag: --force"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, req, err := parseCommandLine(tt.args, io.Discard)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			timeout := 10 * time.Second
			if waits(tt.want) {
				timeout = waitTimeout
			}
			if err != nil || req != tt.want || o.socket != tt.sock || o.json != tt.json || o.timeout != timeout {
				t.Fatalf("got %+v %+v %v; want %+v socket %q json %v", o, req, err, tt.want, tt.sock, tt.json)
			}
		})
	}
}

func TestUptime(t *testing.T) {
	tests := []struct {
		name string
		in   respawn.Info
		want string
	}{
		{name: "not alive", in: respawn.Info{State: "BURIED", UptimeSec: 5}, want: "-"},
		{name: "just started", in: respawn.Info{State: "ALIVE", UptimeSec: 0.2}, want: "0s"},
		{name: "minutes", in: respawn.Info{State: "ALIVE", UptimeSec: 125.6}, want: "2m6s"},
		{name: "days", in: respawn.Info{State: "ALIVE", UptimeSec: 3*86400 + 5*3600 + 59}, want: "3d5h"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := uptime(tt.in); got != tt.want {
				t.Fatalf("uptime = %q, want %q", got, tt.want)
			}
		})
	}
}
