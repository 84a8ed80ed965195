//go:build linux

package test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"respawn/respawn"
)

// ctlwProc is a process started outside respawn, as an operator's would
// be: the test binary under a name of its own (so that a rule picks it
// and nothing else), in its own session and directory. The test reaps it.
type ctlwProc struct {
	pid  int
	exe  string
	dir  string
	done chan struct{}
}

// ctlwStart starts the test binary, linked as DIR/name, playing "helper
// sleep", and waits until /proc shows its command line (until execve has
// laid it out, /proc shows none). It is killed by pid when the test ends,
// before respawn's leftovers are looked for.
func ctlwStart(t *testing.T, name string) *ctlwProc {
	t.Helper()
	dir := t.TempDir()
	exe := filepath.Join(dir, name)
	if os.Link(selfBin, exe) != nil {
		copyFile(t, selfBin, exe, 0o755)
	}
	cmd := exec.Command(exe, "helper", "sleep")
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &ctlwProc{pid: cmd.Process.Pid, exe: exe, dir: dir, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.kill(t) })
	eventually(t, "the outsider's command line in /proc", func() bool {
		b, _ := os.ReadFile("/proc/" + strconv.Itoa(p.pid) + "/cmdline")
		return len(b) > 0
	})
	return p
}

// kill SIGKILLs p by pid and waits until it is reaped.
func (p *ctlwProc) kill(t *testing.T) {
	t.Helper()
	_ = unix.Kill(p.pid, unix.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Errorf("pid %d did not end", p.pid)
	}
}

// ctlwName is a program name no other process here has.
func ctlwName(t *testing.T) string {
	return fmt.Sprintf("cw%d%s", os.Getpid()%100000, strings.ToLower(t.Name()[len(t.Name())-4:]))
}

// ctlwEvents runs respawnctl events into a file until the test ends (it
// is interrupted by pid), and returns a function that waits for a line
// matching re and returns it.
func ctlwEvents(t *testing.T, sock string) func(re string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "events")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(respawnctlBin, "--socket", sock, "events")
	cmd.Stdout = f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		_ = cmd.Wait()
	})
	return func(re string) string {
		t.Helper()
		rx := regexp.MustCompile(re)
		var line string
		eventually(t, "an events line "+re, func() bool {
			b, _ := os.ReadFile(out)
			sc := bufio.NewScanner(strings.NewReader(string(b)))
			for sc.Scan() {
				if rx.MatchString(sc.Text()) {
					line = sc.Text()
					return true
				}
			}
			return false
		})
		return line
	}
}

// respawnctl watch adds a rule at run time, which picks up a process
// already running; watch lists it with what respawn recorded; list shows
// it after the servers with its source; events stream its death and its
// restart as respawn's server, which list then shows as taken over from a
// watched process; unwatch removes the rule, or stops watching one pid.
func TestWatchControl(t *testing.T) {
	name := ctlwName(t)
	s, sock := startCtl(t, "--interval=100ms", "--watch-name=x"+name, "{", "@web", selfBin, "helper", "sleep", "}")
	events := ctlwEvents(t, sock)
	ctlwAlive(t, sock)

	p := ctlwStart(t, name)
	glob := filepath.Dir(p.exe) + "/*"
	if out := ctlOK(t, sock, "watch", "--exe", glob); out != "watching exe:"+glob+": 1 process picked up now\n" {
		t.Errorf("respawnctl watch --exe: %q", out)
	}
	ctlFails(t, sock, "already watching exe:"+glob, "watch", "exe:"+glob)

	ans, _ := ctlJSON(t, sock, "watch")
	w := ans.Watching
	if w == nil || !slices.Contains(w.Rules, "exe:"+glob) || len(w.Watched) != 1 {
		t.Fatalf("respawnctl --json watch: %+v", ans)
	}
	if got := w.Watched[0]; got.Pid != p.pid || got.Name != name || got.Exe != p.exe || got.Cwd != p.dir || got.Action != "restart" ||
		!slices.Equal(got.Argv, []string{p.exe, "helper", "sleep"}) || got.Rule != "exe:"+glob || len(got.Missing) > 0 {
		t.Errorf("watched: %+v", got)
	}
	out := ctlOK(t, sock, "watch")
	if !regexp.MustCompile(`(?m)^` + strconv.Itoa(p.pid) + ` +` + name + ` +restart +0 +\S+ +exe:` + regexp.QuoteMeta(glob) + ` +` + regexp.QuoteMeta(p.exe) + ` helper sleep$`).MatchString(out) {
		t.Errorf("respawnctl watch:\n%s", out)
	}
	rows := strings.Split(ctlOK(t, sock, "list"), "\n")
	if !regexp.MustCompile(`^INDEX .* LAST-EXIT +SOURCE +COMMAND$`).MatchString(rows[0]) ||
		!regexp.MustCompile(`^- +`+name+` +process +WATCHED +`+strconv.Itoa(p.pid)+` .* watched exe:`+regexp.QuoteMeta(glob)+` `).MatchString(rows[2]) {
		t.Errorf("list:\n%s", strings.Join(rows, "\n"))
	}

	p.kill(t)
	events(`watch exit pid=` + strconv.Itoa(p.pid) + ` name=` + name + ` rule=exe:` + regexp.QuoteMeta(glob) + ` status=signal SIGKILL$`)
	events(`watch restart pid=` + strconv.Itoa(p.pid) + ` name=` + name + ` rule=exe:` + regexp.QuoteMeta(glob) + ` server=2$`)
	s.waitLog(1, msg("ALIVE", "server", 2))
	in := list(t, sock)[name]
	if in.Source != "watched" || in.Rule != "exe:"+glob || in.State != "ALIVE" || in.Index != 2 {
		t.Errorf("the restarted process in list: %+v", in)
	}
	if out := ctlOK(t, sock, "status", name); !strings.Contains(out, "source:    watched exe:"+glob+"\n") {
		t.Errorf("status %s:\n%s", name, out)
	}

	q := ctlwStart(t, name+"q")
	if out := ctlOK(t, sock, "watch", strconv.Itoa(q.pid)); out != "watching pid:"+strconv.Itoa(q.pid)+": 1 process picked up now\n" {
		t.Errorf("respawnctl watch PID: %q", out)
	}
	if out := ctlOK(t, sock, "unwatch", strconv.Itoa(q.pid)); out != "unwatched "+strconv.Itoa(q.pid)+": 1 process no longer watched\n" {
		t.Errorf("respawnctl unwatch PID: %q", out)
	}
	events(`watch unwatched pid=` + strconv.Itoa(q.pid) + ` `)
	ctlFails(t, sock, "is not watched", "unwatch", strconv.Itoa(q.pid))
	if out := ctlOK(t, sock, "unwatch", "--exe", glob); out != "unwatched exe:"+glob+": 0 processes no longer watched\n" {
		t.Errorf("respawnctl unwatch --exe: %q", out)
	}
	ctlFails(t, sock, "no rule exe:"+glob, "unwatch", "--exe", glob)
	if out := ctlOK(t, sock, "watch"); out != "rule name:x"+name+"\nno process watched\n" {
		t.Errorf("respawnctl watch at the end:\n%s", out)
	}
	if code := s.stop(); code != 0 {
		t.Errorf("respawn exit status %d, want 0", code)
	}
}

// A bad rule is refused by respawnctl before anything is sent (exit 2),
// and by the supervisor when another client sends it (bad_request); watch
// requests to a respawn that watches nothing say how to start it.
func TestWatchControlRefusals(t *testing.T) {
	s, sock := startCtl(t, "{", "@web", selfBin, "helper", "sleep", "}")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"watch", "--exe", "/usr/["}, `respawnctl: watch: --exe: exe rule "/usr/[": bad glob: syntax error in pattern`},
		{[]string{"watch", "--exe", "usr/bin/*"}, `respawnctl: watch: --exe: exe rule "usr/bin/*": not an absolute path`},
		{[]string{"watch", "regex:("}, `respawnctl: watch: regex rule "(": missing closing ): "("`},
		{[]string{"watch", "0"}, `respawnctl: watch: pid rule "0": a pid is 1 or more`},
		{[]string{"watch", "--name", "a/b"}, `respawnctl: watch: --name: name rule "a/b": a name holds no '/'`},
		{[]string{"watch", "--pid", "1", "--action", "kill"}, `respawnctl: watch: --action: action "kill": want restart or notify`},
		{[]string{"unwatch"}, "respawnctl: unwatch: needs a PID, a RULE, or one of --exe, --name, --regex, --pid"},
		{[]string{"list", "--exe", "/x"}, "respawnctl: list: --exe is for watch and unwatch only"},
	} {
		out, errOut, code := ctl(t, sock, tt.args...)
		if code != 2 || out != "" || !strings.HasPrefix(errOut, tt.want) || strings.Count(errOut, "\n") != 1 {
			t.Errorf("respawnctl %q: exit %d, stdout %q, stderr %q; want 2 and %q", tt.args, code, out, errOut, tt.want)
		}
	}
	c := dialRaw(t, sock)
	wantErr(t, "a bad glob sent raw", c.ask(`{"cmd":"watch","rule":"exe:/usr/["}`), "bad_request")
	wantErr(t, "no rule", c.ask(`{"cmd":"unwatch"}`), "bad_request")

	ctlFails(t, sock, "not watching: start respawn with a --watch flag", "watch", "--exe", "/usr/sbin/*")
	ctlFails(t, sock, "not watching", "watch", "--reload")
	if out := ctlOK(t, sock, "watch"); out != "no watch rule in force\nno process watched\n" {
		t.Errorf("respawnctl watch without watching: %q", out)
	}
	if rows := strings.Split(ctlOK(t, sock, "list"), "\n"); strings.Contains(rows[0], "SOURCE") {
		t.Errorf("list shows SOURCE with nothing watched: %q", rows[0])
	}
	if code := s.stop(); code != 0 {
		t.Errorf("respawn exit status %d, want 0", code)
	}
}

// respawnctl watch --reload rereads the --watch-file files: the rules
// they give now replace theirs; a file that no longer parses changes
// nothing and the error names its line.
func TestWatchControlReload(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "armourd.conf")
	write := func(text string) {
		if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("# armourd\n/nonexistent/a\n")
	s, sock := startCtl(t, "--watch-file="+conf, "{", "@web", selfBin, "helper", "sleep", "}")
	rules := func() []string {
		ans, _ := ctlJSON(t, sock, "watch")
		if ans.Watching == nil {
			t.Fatalf("respawnctl --json watch: %+v", ans)
		}
		return ans.Watching.Rules
	}
	ctlwAlive(t, sock)
	if got := rules(); !slices.Equal(got, []string{"exe:/nonexistent/a"}) {
		t.Fatalf("rules of the file: %q", got)
	}

	write("/nonexistent/b\n/nonexistent/c { pidfile: /run/c.pid }\n")
	if out := ctlOK(t, sock, "watch", "--reload"); out != "watch files read again: 2 rules added, 1 rule removed\n" {
		t.Errorf("respawnctl watch --reload: %q", out)
	}
	if got := rules(); !slices.Equal(got, []string{"exe:/nonexistent/b", "exe:/nonexistent/c"}) {
		t.Errorf("rules after the reload: %q", got)
	}
	write("/nonexistent/b\nrelative/d\n")
	ctlFails(t, sock, conf+`:2: "relative/d": not an absolute path`, "watch", "--reload")
	if got := rules(); !slices.Equal(got, []string{"exe:/nonexistent/b", "exe:/nonexistent/c"}) {
		t.Errorf("rules after a failed reload: %q", got)
	}
	if code := s.stop(); code != 0 {
		t.Errorf("respawn exit status %d, want 0", code)
	}
}

// ctlwAlive waits until the dump shows the watch task ALIVE: until then,
// watch requests are refused with its state.
func ctlwAlive(t *testing.T, sock string) {
	t.Helper()
	eventually(t, "the watch task ALIVE", func() bool {
		ans, _ := ctlJSON(t, sock, "dump")
		return ans.Dump != nil && ans.Dump.Watch != nil && ans.Dump.Watch.State == respawn.Alive.String()
	})
}

// respawnctl unwatch PID stops watching a process a glob picked, and it
// stays unwatched: the /proc scan that the next rule added (or an overrun)
// runs does not pick it up again, nor does the new image of a live upgrade
// (which scans /proc when it starts).
func TestWatchUnwatchPidStays(t *testing.T) {
	w := newWatchEnv(t)
	bin := w.program(t.TempDir(), "wt"+word(t))
	o := w.start(bin, "helper", "sleep")
	s, sock := w.startCtl("--watch-exe=" + bin)
	watchedNow(t, s, o.pid)
	if out := ctlOK(t, sock, "unwatch", strconv.Itoa(o.pid)); out != "unwatched "+strconv.Itoa(o.pid)+": 1 process no longer watched\n" {
		t.Errorf("respawnctl unwatch PID: %q", out)
	}
	ctlOK(t, sock, "watch", "--name", "x"+word(t))
	if out := ctlOK(t, sock, "watch"); hasWord(out, strconv.Itoa(o.pid)) {
		t.Errorf("pid %d is watched again after a rescan:\n%s", o.pid, out)
	}
	s.signal(unix.SIGHUP)
	s.waitLog(1, msg("respawn upgraded", "generation", 1))
	s.waitLog(2, msg("watch: listening to process events"))
	if out := ctlOK(t, sock, "watch"); hasWord(out, strconv.Itoa(o.pid)) {
		t.Errorf("pid %d is watched again after a live upgrade:\n%s", o.pid, out)
	}
	if code := s.stop(); code != 0 {
		t.Errorf("respawn exit status %d after SIGTERM, want 0", code)
	}
}
