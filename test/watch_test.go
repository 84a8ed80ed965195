//go:build linux

package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"respawn/respawn"
)

// A process respawn did not start, matched by each kind of rule (and by a
// line of an armourd file, restart by default as for an exe rule), is
// watched from respawn's first /proc scan; killed with SIGKILL, it is
// started again by respawn with its command line, working directory and
// environment, and is from then on a server like the others: listed as
// watched, with its rule, and restarted by respawn when it dies again.
func TestWatchRuleKinds(t *testing.T) {
	for _, tc := range []struct {
		name string
		rule func(t *testing.T, bin string, pid int) []string
		kind string // the rule's kind as list shows it
	}{
		{"exe glob", func(_ *testing.T, bin string, _ int) []string {
			return []string{"--watch-exe=" + filepath.Dir(bin) + "/wt*"}
		}, "exe:"},
		{"name", func(_ *testing.T, bin string, _ int) []string {
			return []string{"--watch-action=restart", "--watch-name=" + filepath.Base(bin)}
		}, "name:"},
		{"regex", func(_ *testing.T, bin string, _ int) []string {
			return []string{"--watch-action=restart", "--watch-regex=/" + filepath.Base(bin) + " helper sleep$"}
		}, "regex:"},
		{"pid", func(_ *testing.T, _ string, pid int) []string {
			return []string{"--watch-pid=" + strconv.Itoa(pid)}
		}, "pid:"},
		{"armourd file", func(t *testing.T, bin string, _ int) []string {
			conf := filepath.Join(t.TempDir(), "armourd.conf")
			if err := os.WriteFile(conf, []byte("# armourd.conf\n"+bin+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			return []string{"--watch-file=" + conf}
		}, "exe:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWatchEnv(t)
			bin := w.program(t.TempDir(), "wt"+word(t))
			o := w.start(bin, "helper", "sleep")
			s, sock := w.startCtl(append([]string{"--interval=200ms"}, tc.rule(t, bin, o.pid)...)...)
			watchedNow(t, s, o.pid)

			pid := killedAndRestarted(t, s, o, o.argv)
			in, ok := findPid(t, sock, pid)
			switch {
			case !ok:
				t.Errorf("list: no record with pid %d", pid)
			case in.Source != "watched" || !strings.HasPrefix(in.Rule, tc.kind) || in.State != "ALIVE":
				t.Errorf("list: %+v, want source watched, a rule %s..., ALIVE", in, tc.kind)
			}

			// A server now: its next death is respawn's own (a wait
			// status, not an event), and it comes back once more.
			if err := unix.Kill(pid, unix.SIGKILL); err != nil {
				t.Fatal(err)
			}
			again := restartedAs(t, s, o.argv, pid)
			checkLike(t, again, o, o.argv)
			if code := s.stop(); code != 0 {
				t.Errorf("respawn exit status %d after SIGTERM, want 0", code)
			}
			if alive(again) {
				t.Errorf("the restarted program (pid %d) outlived respawn's stop", again)
			}
		})
	}
}

// findPid is the list record of the process pid.
func findPid(t *testing.T, sock string, pid int) (in respawn.Info, ok bool) {
	t.Helper()
	for _, r := range list(t, sock) {
		if r.Pid == pid {
			return r, true
		}
	}
	return in, false
}

// A watched process that exits 0 has ended well: it is not restarted. One
// killed by SIGKILL under the same rule is, which also shows that respawn
// had handled the first exit by then.
func TestWatchExitZeroNotRestarted(t *testing.T) {
	w := newWatchEnv(t)
	dir := t.TempDir()
	bin := w.program(dir, "wt"+word(t))
	ready := tempFile(t, "ready")
	good := w.start(bin, "helper", "waitusr1", ready)
	waitLines(t, ready, 1)
	bad := w.start(bin, "helper", "sleep")
	s := w.begin("--watch-exe=" + dir + "/*")
	watchedNow(t, s, good.pid, bad.pid)

	if err := unix.Kill(good.pid, unix.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	good.wait(t)
	exitSeen(s, good, "exit 0")
	bad.kill(t)
	exitSeen(s, bad, "signal SIGKILL")
	s.waitLog(1, msg("restarting watched process as a server", "pid", bad.pid))
	restartedAs(t, s, bad.argv)

	if n := s.count(msg("restarting watched process as a server", "pid", good.pid)); n != 0 {
		t.Errorf("a watched process that exited 0 was restarted (%d times)", n)
	}
	if p := runningAs(s, good.argv); len(p) != 0 {
		t.Errorf("respawn runs the program that exited 0 again: pids %v", p)
	}
	if code := s.stop(); code != 0 {
		t.Errorf("respawn exit status %d after SIGTERM, want 0", code)
	}
}

// A notify rule (the default for names) restarts nothing: the exec of a
// process it matches and its exit are events on the stream, and log lines.
func TestWatchNotify(t *testing.T) {
	w := newWatchEnv(t)
	bin := w.program(t.TempDir(), "wt"+word(t))
	first := w.start(bin, "helper", "sleep", "first")
	s, sock := w.startCtl("--log-level=debug", "--watch-name="+filepath.Base(bin))
	s.waitLog(1, msg("watching", "pid", first.pid))
	e := startEvents(t, s, sock, true)

	later := w.start(bin, "helper", "sleep", "later")
	ev := watchEvents(e, isWatch("exec", later.pid))
	if r, _ := ev[len(ev)-1]["rule"].(string); !strings.HasPrefix(r, "name:") {
		t.Errorf("exec event %v: rule %q, want name:...", ev[len(ev)-1], r)
	}
	watchedNow(t, s, first.pid, later.pid)
	later.kill(t)
	watchEvents(e, isWatch("exit", later.pid))
	first.kill(t)
	watchEvents(e, isWatch("exit", first.pid))
	exitSeen(s, first, "signal SIGKILL")
	exitSeen(s, later, "signal SIGKILL")

	// The stream had the exits: the loop has handled them.
	for _, o := range []*outsider{first, later} {
		if n := s.count(msg("restarting watched process as a server", "pid", o.pid)); n != 0 {
			t.Errorf("notify rule: pid %d restarted", o.pid)
		}
		if p := runningAs(s, o.argv); len(p) != 0 {
			t.Errorf("notify rule: respawn runs %q again: pids %v", o.argv, p)
		}
	}
	for name, in := range list(t, sock) {
		if in.Source == "watched" {
			t.Errorf("notify rule: list has a watched server %q: %+v", name, in)
		}
	}
	if code := s.stop(); code != 0 {
		t.Errorf("respawn exit status %d after SIGTERM, want 0", code)
	}
}

// A process that execs into a watched executable after respawn started is
// picked up by its EXEC event, and restarted as the program it became.
func TestWatchExecIntoWatchedPath(t *testing.T) {
	w := newWatchEnv(t)
	o, to := w.execer()
	s := w.begin("--watch-exe=" + to)
	// A process started from the watched path is picked up: respawn
	// has scanned /proc and listens to the connector.
	probe := w.start(to, "helper", "sleep", "probe")
	if watchedEntry(watchedNow(t, s, probe.pid), o.pid) != nil || s.count(msg("watching", "pid", o.pid)) != 0 {
		t.Fatalf("pid %d watched before it ran %s", o.pid, to)
	}

	if err := unix.Kill(o.pid, unix.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	watchedNow(t, s, o.pid)
	killedAndRestarted(t, s, o, []string{to, "helper", "sleep"})
	if code := s.stop(); code != 0 {
		t.Errorf("respawn exit status %d after SIGTERM, want 0", code)
	}
}

// A process watched by its pid stays watched when it execs another
// program, and is restarted as that program.
func TestWatchPidExecsElsewhere(t *testing.T) {
	w := newWatchEnv(t)
	o, to := w.execer()
	s, sock := w.startCtl("--log-level=debug", "--watch-pid="+strconv.Itoa(o.pid))
	watchedNow(t, s, o.pid)
	e := startEvents(t, s, sock, true)

	if err := unix.Kill(o.pid, unix.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	watchEvents(e, isWatch("exec", o.pid))
	if exe := watchedEntry(watchedNow(t, s, o.pid), o.pid)["exe"]; exe != to {
		t.Errorf("after its exec, pid %d is recorded as running %v, want %s", o.pid, exe, to)
	}
	o.kill(t)
	watchEvents(e, isWatch("exit", o.pid))
	killedAndRestarted(t, s, o, []string{to, "helper", "sleep"})
	if p := runningAs(s, o.argv); len(p) != 0 {
		t.Errorf("respawn restarted the program the pid ran before its exec: pids %v", p)
	}
	if code := s.stop(); code != 0 {
		t.Errorf("respawn exit status %d after SIGTERM, want 0", code)
	}
}

// A rule that cannot work is refused before anything starts: one line on
// stderr that names what is wrong (the pattern, the pid, the file and
// line), exit status 2, and the server of the command line never ran.
func TestWatchBadRule(t *testing.T) {
	gonePid := deadPid(t)
	armourd := filepath.Join(t.TempDir(), "armourd.conf")
	if err := os.WriteFile(armourd, []byte("# armourd\n/usr/sbin/*\n/usr/bin/[\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, flag, want string }{
		{"bad glob", "--watch-exe=/usr/bin/[", "/usr/bin/["},
		{"bad regex", "--watch-regex=(worker", "(worker"},
		{"name with a slash", "--watch-name=bin/sleep", "bin/sleep"},
		{"pid that does not exist", "--watch-pid=" + strconv.Itoa(gonePid), strconv.Itoa(gonePid)},
		{"pid 0", "--watch-pid=0", "0"},
		{"a kernel thread", "--watch-pid=2", "kernel thread"},
		{"unknown action", "--watch-action=reboot", "reboot"},
		{"bad glob in a watch file", "--watch-file=" + armourd, armourd + ":3"},
		{"missing watch file", "--watch-file=" + armourd + ".missing", armourd + ".missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ran := tempFile(t, "ran")
			code, out, errOut := runUsage(t, "--control=none", tc.flag, "{", selfBin, "helper", "record", ran, "}")
			if code != 2 || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, tc.want) {
				t.Errorf("%s: exit %d, stderr %q; want exit 2 and one line naming %q", tc.flag, code, errOut, tc.want)
			}
			if out != "" {
				t.Errorf("%s: stdout %q", tc.flag, out)
			}
			if _, err := os.Stat(ran); err == nil {
				t.Errorf("%s: the server ran", tc.flag)
			}
		})
	}
}

// deadPid is the pid of a process that has ended and been reaped.
func deadPid(t *testing.T) int {
	t.Helper()
	cmd := exec.Command(selfBin, "helper", "exit", "0")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

// A watched process restarted by respawn is a server from then on, under
// the same rules as the others: with --retries=0, dying sooner than
// --interval buries it, and SIGUSR2 revives it with the same command line.
func TestWatchRestartedIsBuriedAndRevived(t *testing.T) {
	w := newWatchEnv(t)
	dir := t.TempDir()
	o := w.start(w.program(dir, "wt"+word(t)), "helper", "sleep")
	s := w.begin("--retries=0", "--interval=1h", "--watch-exe="+dir+"/wt*")
	watchedNow(t, s, o.pid)

	o.kill(t)
	l := s.waitLog(1, msg("restarting watched process as a server", "pid", o.pid))
	index := attr(l, "server")
	pid := restartedAs(t, s, o.argv)
	if err := unix.Kill(pid, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	s.waitLog(1, msg("BURIED", "server", index, "pid", pid))
	if p := runningAs(s, o.argv); len(p) != 0 {
		t.Errorf("buried, yet running: pids %v", p)
	}
	s.signal(unix.SIGUSR2)
	s.waitLog(1, msg("ALIVE", "server", index, "from", "BURIED"))
	checkLike(t, restartedAs(t, s, o.argv, pid), o, o.argv)
	if code := s.stop(); code != 0 {
		t.Errorf("respawn exit status %d after SIGTERM, want 0", code)
	}
}

// --watch-action sets the action of the rule flags after it, up to the
// next one; before any, a name rule notifies and an exe rule restarts.
func TestWatchActionOrder(t *testing.T) {
	w := newWatchEnv(t)
	dir := t.TempDir()
	tok := word(t)
	a, b := w.start(w.program(dir, "wa"+tok), "helper", "sleep"), w.start(w.program(dir, "wb"+tok), "helper", "sleep")
	c, e := w.start(w.program(dir, "wc"+tok), "helper", "sleep"), w.start(w.program(dir, "we"+tok), "helper", "sleep")
	s := w.begin("--watch-name=wa"+tok, "--watch-exe="+dir+"/wb*",
		"--watch-action=restart", "--watch-name=wc"+tok,
		"--watch-action=notify", "--watch-exe="+dir+"/we*")
	d := watchedNow(t, s, a.pid, b.pid, c.pid, e.pid)
	for _, want := range []struct {
		o      *outsider
		action string
	}{{a, "notify"}, {b, "restart"}, {c, "restart"}, {e, "notify"}} {
		if got := watchedEntry(d, want.o.pid)["action"]; got != want.action {
			t.Errorf("%s: action %v, want %s", want.o.argv[0], got, want.action)
		}
	}
	if code := s.stop(); code != 0 {
		t.Errorf("respawn exit status %d after SIGTERM, want 0", code)
	}
}
