//go:build linux

package test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// buildPidat compiles testdata/pidat.c, which runs a program as the
// process of a chosen pid (clone3 with set_tid): a pid reused on demand.
func buildPidat(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "pidat")
	if out, err := exec.Command("gcc", "-O2", "-o", bin, "testdata/pidat.c").CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v: %s", err, out)
	}
	return bin
}

// threads lists the threads of pid: a Go program has more than one once
// its runtime runs, long after its exec was reported.
func threads(pid int) []os.DirEntry {
	d, _ := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
	return d
}

// startAt starts argv as an outsider (see start) whose pid is pid, as a
// new process that reuses a pid would be: in a session of its own, so it
// leads its own process group.
func (w *watchEnv) startAt(pidat string, pid int, argv ...string) *outsider {
	w.t.Helper()
	o := &outsider{pid: pid, argv: argv, dir: w.t.TempDir(), token: word(w.t), done: make(chan struct{})}
	cmd := exec.Command(pidat, append([]string{strconv.Itoa(pid)}, argv...)...)
	cmd.Dir = o.dir
	cmd.Env = append(os.Environ(), "WATCHME="+o.token)
	var out strings.Builder
	cmd.Stderr = &out
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	go func() { _ = cmd.Wait(); close(o.done) }()
	w.outs = append(w.outs, o)
	w.t.Cleanup(func() { o.kill(w.t) })
	eventually(w.t, "a process of pid "+strconv.Itoa(pid), func() bool {
		select {
		case <-o.done:
			w.t.Fatalf("pidat %d: %s (exit %d)", pid, out.String(), cmd.ProcessState.ExitCode())
		default:
		}
		return slices.Contains(environOf(o.pid), "WATCHME="+o.token)
	})
	return o
}

// Before a restart respawn kills what the dead watched process left in
// the group it led, but only if that group is still the dead process's.
// When respawn reads the exit late (stopped here; a loaded machine delays
// it too), the pid may already be another process's, one leading a group
// of its own: that process must not be killed. It used to be: the group
// was killed by number, whoever had it by then.
func TestWatchReusedPidGroupSpared(t *testing.T) {
	pidat := buildPidat(t)
	w := newWatchEnv(t)
	dir := t.TempDir()
	bin := w.program(dir, "wt"+word(t))
	o := w.start(bin, "helper", "sleep")
	s := w.begin("--watch-exe=" + dir + "/*")
	watchedNow(t, s, o.pid)

	s.signal(unix.SIGSTOP)
	t.Cleanup(func() { _ = unix.Kill(s.Pid, unix.SIGCONT) })
	o.kill(t)
	other := w.startAt(pidat, o.pid, selfBin, "helper", "sleep", "other")
	s.signal(unix.SIGCONT)

	exitSeen(s, o, "signal SIGKILL")
	s.waitLog(1, msg("restarting watched process as a server", "pid", o.pid))
	restartedAs(t, s, o.argv)
	if !alive(other.pid) {
		t.Errorf("respawn killed pid %d, a new process leading its own group under the dead one's pid", other.pid)
	}
	if code := s.stop(); code != 0 {
		t.Errorf("respawn exit status %d after SIGTERM, want 0", code)
	}
}

// A pid rule names a process, not a number: once the process it watched
// has ended (and been restarted as a server), a new process that gets the
// same pid is not watched, and its death restarts nothing. It used to be
// watched, and restarted as a second server when killed.
func TestWatchPidRuleEndsWithItsProcess(t *testing.T) {
	pidat := buildPidat(t)
	w := newWatchEnv(t)
	dir := t.TempDir()
	bin := w.program(dir, "wt"+word(t))
	marker := w.program(t.TempDir(), "mk"+word(t))
	o := w.start(bin, "helper", "sleep")
	s := w.begin("--interval=200ms", "--watch-pid="+strconv.Itoa(o.pid),
		"--watch-action=notify", "--watch-name="+filepath.Base(marker))
	watchedNow(t, s, o.pid)
	o.kill(t)
	s.waitLog(1, msg("restarting watched process as a server", "pid", o.pid))
	restartedAs(t, s, o.argv)

	ready := tempFile(t, "ready")
	imposter := w.startAt(pidat, o.pid, bin, "helper", "waitusr1", ready)
	waitLines(t, ready, 1)
	// Events come in the order they happened: once respawn watches the
	// marker, started after the imposter ran, it has handled the
	// imposter's exec; once it saw the marker's exit, the imposter's.
	m := w.start(marker, "helper", "sleep")
	s.waitLog(1, msg("watching", "pid", m.pid))
	if n := s.count(msg("watching", "pid", o.pid)); n != 1 {
		t.Errorf("pid %d was watched %d times, want once: the new process under the old pid was taken for the old one", o.pid, n)
	}
	imposter.kill(t)
	m.kill(t)
	exitSeen(s, m, "signal SIGKILL")
	if n := s.count(msg("restarting watched process as a server", "pid", o.pid)); n != 1 {
		t.Errorf("pid %d was restarted %d times, want once", o.pid, n)
	}
	if code := s.stop(); code != 0 {
		t.Errorf("respawn exit status %d after SIGTERM, want 0", code)
	}
}

// respawn's own servers and what they start are respawn's already, even a
// child that left the server's process group for a session of its own (a
// daemon): a rule that matches it does not watch it, so that its death is
// its server's business, not a restart by respawn beside it. It used to
// be watched, and restarted as a server of its own when killed.
func TestWatchNotServersDescendants(t *testing.T) {
	w := newWatchEnv(t)
	dir := t.TempDir()
	bin := w.program(dir, "wt"+word(t))
	pidFile := tempFile(t, "pid")
	s := w.begin("--interval=200ms", "--watch-exe="+dir+"/*",
		"{", selfBin, "helper", "noreap", pidFile, bin, "helper", "sleep", "daemon", "}")
	d := waitPidFile(t, pidFile)
	t.Cleanup(func() { _ = unix.Kill(d, unix.SIGKILL) })
	eventually(t, "the server's daemon running", func() bool { return len(threads(d)) > 1 })
	if sid, _ := unix.Getsid(d); sid != d {
		t.Fatalf("the daemon %d is in session %d, not its own: the test does not test", d, sid)
	}
	// Events come in the order they happened: once respawn watches this
	// outsider, started after the daemon ran, it has handled the daemon's
	// exec; once it saw the outsider's exit, the daemon's.
	m := w.start(bin, "helper", "sleep", "marker")
	s.waitLog(1, msg("watching", "pid", m.pid))
	if n := s.count(msg("watching", "pid", d)); n != 0 {
		t.Errorf("respawn watches pid %d, the daemon of its own server", d)
	}
	if err := unix.Kill(d, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the daemon dead", func() bool { return !alive(d) })
	m.kill(t)
	exitSeen(s, m, "signal SIGKILL")
	if n := s.count(msg("restarting watched process as a server", "pid", d)); n != 0 {
		t.Errorf("respawn restarted its own server's daemon as a server of its own")
	}
	if code := s.stop(); code != 0 {
		t.Errorf("respawn exit status %d after SIGTERM, want 0", code)
	}
}

// A live upgrade's new image watches again only the processes of the
// snapshot that are still the ones recorded (same start time): a pid that
// runs another process (a snapshot forged, or a pid reused) is dropped,
// so that the process there is neither listed as watched nor restarted
// in the recorded one's place, nor its group killed, when it dies. It
// used to be taken on trust.
func TestWatchForgedSnapshotPid(t *testing.T) {
	w := newWatchEnv(t)
	dir := t.TempDir()
	bin := w.program(dir, "wt"+word(t))
	by := w.start(selfBin, "helper", "sleep", "bystander")
	// A start time is in clock ticks: the bystander's must not be the
	// watched process's, or it would pass for it.
	eventually(t, "a clock tick after the bystander's start", func() bool { return uptimeTicks() > startTicks(by.pid) })
	o := w.start(bin, "helper", "sleep")
	byFile := tempFile(t, "bystander")
	appendLine(byFile, strconv.Itoa(by.pid))
	rbin := copyBinary(t)
	s := startBin(t, rbin, "", "--control=none", "--watch-exe="+dir+"/*")
	guard(s)
	t.Cleanup(w.killAll)
	watchedNow(t, s, o.pid)

	forgeOnUpgrade(t, rbin, "watchpid:"+byFile)
	s.signal(unix.SIGHUP)
	s.waitLog(1, msg("respawn upgraded", "generation", 1))
	s.waitLog(2, msg("watching", "pid", o.pid)) // found again by the new image's scan
	d := watchDump(t, s)
	if watchedEntry(d, by.pid) != nil {
		t.Errorf("respawn watches pid %d, a process it never saw, as the one the snapshot recorded", by.pid)
	}
	by.kill(t)
	o.kill(t)
	exitSeen(s, o, "signal SIGKILL")
	if n := s.count(msg("restarting watched process as a server", "pid", by.pid)); n != 0 {
		t.Errorf("respawn restarted the recorded program for the death of pid %d, another process", by.pid)
	}
	if code := s.stop(); code != 0 {
		t.Errorf("respawn exit status %d after SIGTERM, want 0", code)
	}
}

// startTicks is pid's start time, in clock ticks since boot.
func startTicks(pid int) uint64 {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 20 {
		return 0
	}
	n, _ := strconv.ParseUint(f[19], 10, 64)
	return n
}

// uptimeTicks is the time since boot, in the clock ticks start times
// count (USER_HZ, 100 on Linux; /proc/uptime has hundredths).
func uptimeTicks() uint64 {
	b, _ := os.ReadFile("/proc/uptime")
	sec, frac, _ := strings.Cut(strings.Fields(string(b))[0], ".")
	s, _ := strconv.ParseUint(sec, 10, 64)
	c, _ := strconv.ParseUint(frac, 10, 64)
	return s*100 + c
}

// buildC compiles testdata/NAME.c (with threads) into dir as exe.
func buildC(t *testing.T, name, dir, exe string) string {
	t.Helper()
	bin := filepath.Join(dir, exe)
	if out, err := exec.Command("gcc", "-O2", "-pthread", "-o", bin, "testdata/"+name+".c").CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v: %s", err, out)
	}
	return bin
}

// A watched process whose main thread ends first (pthread_exit in main)
// runs on in its other thread: it has not exited, and when it is killed
// later respawn sees that end and restarts it. respawn used to take the
// main thread's end for the process's ("exit 0", unwatched), and never
// saw the real one.
func TestWatchLeaderEndsFirst(t *testing.T) {
	w := newWatchEnv(t)
	dir := t.TempDir()
	bin := buildC(t, "headless", dir, "wt"+word(t))
	o := w.start(bin)
	s := w.begin("--watch-exe=" + dir + "/*")
	watchedNow(t, s, o.pid)

	if err := unix.Kill(o.pid, unix.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the main thread ended, the other running", func() bool {
		_, st := procStat(o.pid)
		return st == 'Z' && len(threads(o.pid)) == 2
	})
	// Events come in the order they happened: once respawn watches this
	// process, started after the main thread ended, it has handled that.
	m := w.start(bin)
	s.waitLog(1, msg("watching", "pid", m.pid))
	if n := s.count(msg("watched process exited", "pid", o.pid)); n != 0 {
		t.Errorf("respawn took the end of the main thread of pid %d for the process's", o.pid)
	}
	o.kill(t)
	exitSeen(s, o, "signal SIGKILL")
	s.waitLog(1, msg("restarting watched process as a server", "pid", o.pid))
	restartedAs(t, s, o.argv)
	m.kill(t)
	if code := s.stop(); code != 0 {
		t.Errorf("respawn exit status %d after SIGTERM, want 0", code)
	}
}

// A server that rewrote its command line (nginx's "NAME: master process")
// before respawn first saw it has no arguments left to restart it with:
// respawn says so when it watches it, and when it dies restarts nothing,
// rather than run its program with the title for arguments. It used to
// restart it so.
func TestWatchRewrittenCommandLine(t *testing.T) {
	w := newWatchEnv(t)
	dir := t.TempDir()
	name := "wt" + word(t)
	bin := buildC(t, "title", dir, name)
	o := w.start(bin, "rewrite")
	eventually(t, "the command line rewritten", func() bool {
		a := argvOf(o.pid)
		return len(a) > 0 && a[0] == name+": master process"
	})
	s := w.begin("--watch-exe=" + dir + "/*")
	l := s.waitLog(1, msg("watching", "pid", o.pid))
	if !strings.Contains(fmt.Sprint(l["unreadable"]), "cmdline") {
		t.Errorf("respawn watches pid %d without saying its command line is not its own: %v", o.pid, l)
	}
	watchedNow(t, s, o.pid)
	o.kill(t)
	exitSeen(s, o, "signal SIGKILL")
	s.waitLog(1, msg("watch: cannot restart: its command line is unknown", "pid", o.pid))
	for _, k := range children(s.Pid) {
		if strings.Contains(cmdline(k), "master process") {
			t.Errorf("respawn runs pid %d with the title for its arguments: %q", k, argvOf(k))
		}
	}
	if code := s.stop(); code != 0 {
		t.Errorf("respawn exit status %d after SIGTERM, want 0", code)
	}
}

// respawnctl watch PID of respawn's own server is refused, and leaves no
// rule behind: kept, the rule would have picked whichever process got the
// pid next. It used to be taken ("0 processes picked up") and kept.
func TestWatchControlOwnPidRefused(t *testing.T) {
	s, sock := startCtl(t, "--watch-name=x"+word(t), "{", "@web", selfBin, "helper", "sleep", "}")
	pid := s.pidOf(1)
	ctlFails(t, sock, "cannot be watched", "watch", strconv.Itoa(pid))
	if out := ctlOK(t, sock, "watch"); strings.Contains(out, "pid:") {
		t.Errorf("respawnctl watch lists a pid rule after the refusal:\n%s", out)
	}
	if code := s.stop(); code != 0 {
		t.Errorf("respawn exit status %d, want 0", code)
	}
}
