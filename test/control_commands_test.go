//go:build linux

package test

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"respawn/control"
)

// list shows every server and task with its name (explicit, base name,
// base name made unique), state, pid, restarts, last exit and argv, as a
// table and as JSON.
func TestControlList(t *testing.T) {
	s, sock := startCtl(t, "--retries=0", "--interval=1h",
		"{", "@web", selfBin, "helper", "sleep", "}",
		"{", selfBin, "helper", "sleep", "}",
		"{", selfBin, "helper", "sleep", "}",
		"{", selfBin, "helper", "exit", "3", "}")
	s.waitLog(1, msg("BURIED", "server", 4))
	base := filepath.Base(selfBin)

	m := list(t, sock)
	if len(m) != 5 {
		t.Fatalf("list has %d records, want 4 servers and the control task: %v", len(m), m)
	}
	for i, name := range []string{"web", base, base + "-2"} {
		in := m[name]
		if in.Index != i+1 || in.State != "ALIVE" || in.Pid != s.pidOf(i+1) || in.Pid == 0 || in.Task ||
			strings.Join(in.Argv, " ") != selfBin+" helper sleep" || in.LastExit != "-" || in.StartedAt == "" {
			t.Errorf("%s: %+v", name, in)
		}
	}
	if in := m[base+"-3"]; in.Index != 4 || in.State != "BURIED" || in.Pid != 0 || in.LastExit != "exit 3" ||
		in.ExitCode == nil || *in.ExitCode != 3 || in.UptimeSec != 0 {
		t.Errorf("buried server: %+v", in)
	}
	if in := m["control"]; in.Index != 0 || !in.Task || in.State != "ALIVE" || in.Argv != nil {
		t.Errorf("control task: %+v", in)
	}

	out := ctlOK(t, sock, "list")
	rows := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(rows) != 6 || !regexp.MustCompile(`^INDEX +NAME +TYPE +STATE +PID +UPTIME +RESTARTS +RETRY +LAST-EXIT +COMMAND$`).MatchString(rows[0]) {
		t.Fatalf("table:\n%s", out)
	}
	for i, re := range []string{
		`^1 +web +server +ALIVE +` + strconv.Itoa(s.pidOf(1)) + ` +\d+s +0 +- +- +` + regexp.QuoteMeta(selfBin) + ` helper sleep$`,
		`^2 +` + regexp.QuoteMeta(base) + ` +server +ALIVE +\d+ `,
		`^3 +` + regexp.QuoteMeta(base) + `-2 +server +ALIVE +\d+ `,
		`^4 +` + regexp.QuoteMeta(base) + `-3 +server +BURIED +- +- +0 +- +exit 3 +`,
		`^- +control +task +ALIVE +- +\d+s +0 +- +- +\(task\)$`,
	} {
		if !regexp.MustCompile(re).MatchString(rows[i+1]) {
			t.Errorf("row %d %q does not match %s", i+1, rows[i+1], re)
		}
	}
	s.stop()
}

// status addresses a record by name or index; an unknown target is one
// clear error line and exit status 1.
func TestControlStatus(t *testing.T) {
	s, sock := startCtl(t, "{", "@web", selfBin, "helper", "sleep", "}")
	pid := s.pidOf(1)
	for _, target := range []string{"web", "1"} {
		ans, code := ctlJSON(t, sock, "status", target)
		if code != 0 || !ans.OK || ans.Status == nil || ans.Status.Name != "web" || ans.Status.Pid != pid {
			t.Errorf("status %s: exit %d, %+v", target, code, ans)
		}
	}
	out := ctlOK(t, sock, "status", "web")
	for _, want := range []string{"name:      web\n", "state:     ALIVE\n", "pid:       " + strconv.Itoa(pid) + "\n", "restarts:  0\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("status output lacks %q:\n%s", want, out)
		}
	}
	for target, words := range map[string]string{
		"nope": `no such server "nope"`, "0": "no server 0: servers are numbered 1 to 1",
		"3": "no server 3: servers are numbered 1 to 1", "99": "no server 99: servers are numbered 1 to 1",
		"2": "no server 2: servers are numbered 1 to 1", // the control task: tasks have no index
	} {
		ctlFails(t, sock, `status `+target+`: `+words+"\n", "status", target)
		ans, code := ctlJSON(t, sock, "status", target)
		if code != 1 {
			t.Errorf("status %s --json: exit %d", target, code)
		}
		wantErr(t, "status "+target, ans, control.CodeUnknownTarget)
	}
	s.stop()
}

// stop cremates a server (SIGTERM to its group), start brings it back; the
// control task cannot stop itself.
func TestControlStopStart(t *testing.T) {
	s, sock := startCtl(t, "--interval=1h",
		"{", "@web", selfBin, "helper", "sleep", "}",
		"{", "@keep", selfBin, "helper", "sleep", "}")
	first := s.pidOf(1)
	out := ctlOK(t, sock, "stop", "web")
	if !strings.Contains(out, "[1] web ") {
		t.Errorf("stop said %q", out)
	}
	s.waitLog(1, msg("CREMATED", "server", 1, "exit", "signal SIGTERM", "pid", first))
	if in := list(t, sock)["web"]; in.State != "CREMATED" || in.Pid != 0 {
		t.Errorf("after stop: %+v", in)
	}
	ctlFails(t, sock, "stop web: web is already CREMATED", "stop", "web")

	out = ctlOK(t, sock, "start", "web")
	again := s.waitLog(1, msg("ALIVE", "server", 1, "from", "CREMATED"))
	if !strings.Contains(out, "[1] web ALIVE pid "+strconv.Itoa(int(again["pid"].(float64)))) {
		t.Errorf("start said %q", out)
	}
	ctlFails(t, sock, "only a CREMATED, BURIED or DEAD one can be started", "start", "web")

	ans, code := ctlJSON(t, sock, "stop", "control")
	if code != 1 {
		t.Errorf("stop control: exit %d", code)
	}
	wantErr(t, "stop control", ans, control.CodeFailed)
	if in := list(t, sock)["control"]; in.State != "ALIVE" {
		t.Errorf("control task after stop control: %+v", in)
	}
	ctlFails(t, sock, `stop nope: no such server "nope"`, "stop", "nope")
	if code := s.stop(); code != 0 {
		t.Errorf("exit status %d", code)
	}
}

// signal reaches the server's process group; names, SIG names and numbers
// work; a bad signal or a server not running is an error.
func TestControlSignal(t *testing.T) {
	s, sock := startCtl(t, "--retries=0", "--interval=1h",
		"{", "@a", selfBin, "helper", "sleep", "}",
		"{", "@b", selfBin, "helper", "sleep", "}",
		"{", "@c", selfBin, "helper", "sleep", "}")
	// The helpers are Go programs: SIGUSR1 and SIGUSR2 would be ignored.
	for i, tt := range []struct{ sig, state, exit string }{
		{"HUP", "BURIED", "signal SIGHUP"},
		{"sigkill", "BURIED", "signal SIGKILL"},
		{strconv.Itoa(int(unix.SIGTERM)), "CREMATED", "signal SIGTERM"},
	} {
		name := string(rune('a' + i))
		pid := s.pidOf(i + 1)
		if out := ctlOK(t, sock, "signal", name, tt.sig); !strings.Contains(out, "sent "+tt.sig) {
			t.Errorf("signal %s %s said %q", name, tt.sig, out)
		}
		s.waitLog(1, msg(tt.state, "server", i+1, "exit", tt.exit, "pid", pid))
	}
	for sig, words := range map[string]string{"NOPE": `signal: unknown signal "NOPE"`, "99": "signal: signal 99: out of range 1 to 64"} {
		if _, errOut, code := ctl(t, sock, "signal", "a", sig); code != 2 || errOut != "respawnctl: "+words+"\n" {
			t.Errorf("signal a %s: exit %d, stderr %q; want exit 2 and %q", sig, code, errOut, words)
		}
	}
	ctlFails(t, sock, "signal a: a is not a running server", "signal", "a", "TERM")
	ctlFails(t, sock, "signal control: control is not a running server", "signal", "control", "TERM")
	s.stop()
}

// revive TARGET revives one buried server; revive alone revives them all
// and says how many.
func TestControlRevive(t *testing.T) {
	s, sock := startCtl(t, "--retries=0", "--interval=1h", "--linger",
		"{", "@x", selfBin, "helper", "exit", "3", "}",
		"{", "@y", selfBin, "helper", "exit", "4", "}")
	s.waitLog(1, msg("BURIED", "server", 1))
	s.waitLog(1, msg("BURIED", "server", 2))

	ans, code := ctlJSON(t, sock, "revive", "x")
	if code != 0 || !ans.OK || ans.Status == nil || ans.Status.Name != "x" {
		t.Fatalf("revive x: exit %d, %+v", code, ans)
	}
	s.waitLog(1, msg("ALIVE", "server", 1, "from", "BURIED"))
	s.waitLog(2, msg("BURIED", "server", 1))
	if s.count(msg("ALIVE", "server", 2, "from", "BURIED")) != 0 {
		t.Error("revive x revived y")
	}

	if out := ctlOK(t, sock, "revive"); out != "revived 2\n" {
		t.Errorf("revive said %q", out)
	}
	s.waitLog(3, msg("BURIED", "server", 1))
	s.waitLog(2, msg("BURIED", "server", 2))
	eventually(t, "both buried again", func() bool {
		m := list(t, sock)
		return m["x"].State == "BURIED" && m["y"].State == "BURIED" && m["x"].Restarts == 2 && m["y"].Restarts == 1
	})
	ctlFails(t, sock, "control is ALIVE, not BURIED", "revive", "control")
	s.stop()
}

// dump is the info dump as data, or as the SIGUSR1 text.
func TestControlDump(t *testing.T) {
	s, sock := startCtl(t, "--interval=7s", "{", "@web", selfBin, "helper", "sleep", "}")
	ans, code := ctlJSON(t, sock, "dump")
	d := ans.Dump
	if code != 0 || d == nil || d.Pid != s.Pid || d.Interval != "7s" || d.Generation != 0 ||
		len(d.Servers) != 1 || d.Servers[0].Name != "web" || len(d.Tasks) != 1 || d.Tasks[0].Name != "control" ||
		d.Counts["alive"] != 1 {
		b, _ := json.Marshal(ans)
		t.Fatalf("dump: exit %d, %s", code, b)
	}
	out := ctlOK(t, sock, "dump")
	for _, want := range []string{"respawn info dump at ", "pid: " + strconv.Itoa(s.Pid), "generation: 0", "[1] web pid=", "[task] control "} {
		if !strings.Contains(out, want) {
			t.Errorf("dump lacks %q:\n%s", want, out)
		}
	}
	s.stop()
}

// respawnctl's own errors: bad command lines exit 2 before connecting; no
// supervisor is one line and exit 1.
func TestControlUsage(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{name: "no command", args: nil, code: 2, want: "respawnctl: no command"},
		{name: "unknown command", args: []string{"fly"}, code: 2, want: `respawnctl: unknown command "fly"`},
		{name: "missing target", args: []string{"status"}, code: 2, want: "respawnctl: status: needs one TARGET"},
		{name: "extra argument", args: []string{"list", "x"}, code: 2, want: "respawnctl: list: takes no argument"},
		{name: "signal without signal", args: []string{"signal", "x"}, code: 2, want: "respawnctl: signal: needs TARGET and SIGNAL"},
		{name: "unknown flag", args: []string{"--nope", "list"}, code: 2, want: "respawnctl: unknown flag: --nope"},
		{name: "no socket", args: []string{"list"}, code: 1, want: "respawnctl: no supervisor at " + dir + "/none.sock: no such file or directory"},
		{name: "no socket for upgrade", args: []string{"upgrade"}, code: 1, want: "respawnctl: no supervisor at "},
		{name: "no socket for events", args: []string{"events"}, code: 1, want: "respawnctl: no supervisor at "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := ctl(t, filepath.Join(dir, "none.sock"), tt.args...)
			if code != tt.code || out != "" || strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, tt.want) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit %d and %q", code, out, errOut, tt.code, tt.want)
			}
		})
	}
	out, _, code := ctl(t, "x", "--help")
	if code != 0 || !strings.Contains(out, "usage: respawnctl") || !strings.Contains(out, "--socket") {
		t.Errorf("--help: exit %d:\n%s", code, out)
	}
}
