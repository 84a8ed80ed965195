//go:build linux

package test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func init() {
	moreHelpers["waitusr1"] = waitUSR1
	moreHelpers["execonusr1"] = execOnUSR1
}

// waitUSR1 plays a watched program that ends of its own: once it can
// take SIGUSR1 it writes "ready" to args[0], and on SIGUSR1 it exits with
// the status args[1], 0 if not given.
func waitUSR1(args []string) int {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGUSR1)
	appendLine(args[0], "ready")
	<-c
	if len(args) > 1 {
		code, _ := strconv.Atoi(args[1])
		return code
	}
	return 0
}

// execOnUSR1 plays a program that becomes another: once it can take
// SIGUSR1 it writes "ready" to args[0]; on SIGUSR1 it execs args[1:] (a
// path and the argv after argv[0]) in the same process.
func execOnUSR1(args []string) int {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGUSR1)
	appendLine(args[0], "ready")
	<-c
	signal.Reset()
	_ = syscall.Exec(args[1], args[1:], os.Environ())
	return 96
}

// outsider is a process started outside respawn, as an operator's would be:
// in its own session, with its own working directory and an environment
// variable of its own (WATCHME=token). It is the test's child until it dies;
// respawn may watch it, and restart its program as its own server.
type outsider struct {
	pid   int
	argv  []string
	dir   string
	token string
	done  chan struct{}
}

// watchEnv is one watch test: the outsiders it started, ended by pid before
// the harness checks respawn's leftovers.
type watchEnv struct {
	t    *testing.T
	outs []*outsider
}

func newWatchEnv(t *testing.T) *watchEnv {
	return &watchEnv{t: t}
}

// word is a short random word: names and patterns of one test match
// nothing of another, nor of anyone else's on this machine.
func word(t *testing.T) string {
	b := make([]byte, 3)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// program puts the test binary at DIR/name (a hard link, or a copy across
// file systems), so that a process started from it has that executable
// path and that comm, and plays the helpers.
func (w *watchEnv) program(dir, name string) string {
	w.t.Helper()
	p := filepath.Join(dir, name)
	if os.Link(selfBin, p) != nil {
		copyFile(w.t, selfBin, p, 0o755)
	}
	return p
}

// start starts argv as an outsider in a new working directory, and waits
// until its environment is readable in /proc (until the kernel has laid
// out the new image, /proc shows none): it is then "already running".
func (w *watchEnv) start(argv ...string) *outsider {
	w.t.Helper()
	return w.startAs(nil, w.t.TempDir(), argv...)
}

// startAs is start with credentials (nil: the test's own) in dir.
func (w *watchEnv) startAs(cred *syscall.Credential, dir string, argv ...string) *outsider {
	w.t.Helper()
	o := &outsider{argv: argv, dir: dir, token: word(w.t), done: make(chan struct{})}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = o.dir
	cmd.Env = append(os.Environ(), "WATCHME="+o.token)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Credential: cred}
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	o.pid = cmd.Process.Pid
	go func() { _ = cmd.Wait(); close(o.done) }()
	w.outs = append(w.outs, o)
	w.t.Cleanup(func() { o.kill(w.t) })
	eventually(w.t, "the outsider's environment in /proc", func() bool {
		return slices.Contains(environOf(o.pid), "WATCHME="+o.token)
	})
	return o
}

// kill SIGKILLs o by pid and waits until the test has reaped it. Once
// it has, kill does nothing: the pid may be another process's by then.
func (o *outsider) kill(t *testing.T) {
	t.Helper()
	select {
	case <-o.done:
		return
	default:
	}
	_ = unix.Kill(o.pid, unix.SIGKILL)
	o.wait(t)
}

// wait waits until o has ended and been reaped.
func (o *outsider) wait(t *testing.T) {
	t.Helper()
	select {
	case <-o.done:
	case <-time.After(10 * time.Second):
		t.Errorf("outsider %d did not end", o.pid)
	}
}

// killAll ends every outsider that is left. It is registered after respawn
// starts, so that it runs before the harness looks for what outlived
// respawn.
func (w *watchEnv) killAll() {
	for _, o := range w.outs {
		o.kill(w.t)
	}
}

// begin runs respawn as begin does (no control socket), then arranges for
// the outsiders to be ended first at the end of the test.
func (w *watchEnv) begin(args ...string) *Sup {
	w.t.Helper()
	s := begin(w.t, args...)
	w.t.Cleanup(w.killAll)
	return s
}

// startCtl runs respawn with a control socket (see startCtl), with the
// outsiders ended first at the end of the test.
func (w *watchEnv) startCtl(args ...string) (*Sup, string) {
	w.t.Helper()
	s, sock := startCtl(w.t, args...)
	w.t.Cleanup(w.killAll)
	return s, sock
}

// argvOf is pid's command line, split, or nil.
func argvOf(pid int) []string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil || len(b) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
}

// environOf is pid's environment, or nil.
func environOf(pid int) []string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil || len(b) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
}

// restartedAs waits until respawn has a live child running argv, other
// than the pids in not, and returns its pid.
func restartedAs(t *testing.T, s *Sup, argv []string, not ...int) int {
	t.Helper()
	pid := 0
	eventually(t, "respawn running "+strings.Join(argv, " "), func() bool {
		for _, k := range children(s.Pid) {
			if !slices.Contains(not, k) && alive(k) && slices.Equal(argvOf(k), argv) {
				pid = k
				return true
			}
		}
		return false
	})
	return pid
}

// runningAs lists respawn's live children running argv.
func runningAs(s *Sup, argv []string) []int {
	var out []int
	for _, k := range children(s.Pid) {
		if alive(k) && slices.Equal(argvOf(k), argv) {
			out = append(out, k)
		}
	}
	return out
}

// execer starts an outsider that runs one program (the test binary
// under a new name) and, on SIGUSR1, execs another, to, whose path it
// returns; it is ready for the signal.
func (w *watchEnv) execer() (o *outsider, to string) {
	w.t.Helper()
	dir, tok := w.t.TempDir(), word(w.t)
	from, to := w.program(dir, "wa"+tok), w.program(dir, "wb"+tok)
	ready := tempFile(w.t, "ready")
	o = w.start(from, "helper", "execonusr1", ready, to, "helper", "sleep")
	waitLines(w.t, ready, 1)
	return o, to
}

// killedAndRestarted SIGKILLs o (unless it has ended already), waits until
// respawn has seen that exit and restarted the program as argv, and
// checks the restart is like o; it returns the new pid.
func killedAndRestarted(t *testing.T, s *Sup, o *outsider, argv []string) int {
	t.Helper()
	o.kill(t)
	exitSeen(s, o, "signal SIGKILL")
	s.waitLog(1, msg("restarting watched process as a server", "pid", o.pid))
	pid := restartedAs(t, s, argv)
	checkLike(t, pid, o, argv)
	return pid
}

// checkLike checks that pid runs what o ran, where o ran it, with o's
// environment variable: what a restart must keep.
func checkLike(t *testing.T, pid int, o *outsider, argv []string) {
	t.Helper()
	if got := argvOf(pid); !slices.Equal(got, argv) {
		t.Errorf("restarted pid %d runs %q, want %q", pid, got, argv)
	}
	if cwd, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/cwd"); err != nil || cwd != o.dir {
		t.Errorf("restarted pid %d works in %q (%v), want %q", pid, cwd, err, o.dir)
	}
	var env []string
	eventually(t, "the restarted process's environment", func() bool {
		env = environOf(pid)
		return len(env) > 0 || !alive(pid)
	})
	if !slices.Contains(env, "WATCHME="+o.token) {
		t.Errorf("restarted pid %d lacks WATCHME=%s in its environment (%d variables)", pid, o.token, len(env))
	}
}

// watchEvents collects the watch events of an events client (JSON): each
// is a decoded line with a "watch" key.
func watchEvents(e *eventsClient, until func(ev map[string]any) bool) []map[string]any {
	e.t.Helper()
	var out []map[string]any
	for {
		l := e.next()
		var ev map[string]any
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			e.t.Fatalf("events: %q: %v", l, err)
		}
		if _, ok := ev["dropped"]; ok {
			e.t.Fatalf("events: the stream dropped events: %s", l)
		}
		if _, ok := ev["watch"]; !ok {
			continue
		}
		out = append(out, ev)
		if until(ev) {
			return out
		}
	}
}

// collect passes each watch event of the stream to done until done says
// so, or until no event has come for 3 s (the caller counts what came).
func (e *eventsClient) collect(done func(ev map[string]any) bool) {
	e.t.Helper()
	for {
		select {
		case l, ok := <-e.lines:
			if !ok {
				e.t.Fatalf("events client ended: %s", e.err.String())
			}
			var ev map[string]any
			if err := json.Unmarshal([]byte(l), &ev); err != nil {
				e.t.Fatalf("events: %q: %v", l, err)
			}
			if _, ok := ev["dropped"]; ok {
				e.t.Errorf("events: the stream dropped events: %s", l)
			}
			if _, ok := ev["watch"]; ok && done(ev) {
				return
			}
		case <-time.After(3 * time.Second):
			return
		}
	}
}

// isWatch matches a watch event of that kind ("exec", "exit", ...) for pid.
func isWatch(kind string, pid int) func(map[string]any) bool {
	return func(ev map[string]any) bool {
		return ev["watch"] == kind && attr(ev, "pid") == pid
	}
}

// buildStorm compiles bench/forkstorm.c (static when libc.a is there) into
// a new directory and returns the binary's path.
func buildStorm(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "forkstorm")
	src, err := filepath.Abs("../bench/forkstorm.c")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("gcc", "-O2", "-static", "-o", bin, src).CombinedOutput(); err != nil {
		t.Logf("static link failed (%v: %s); linking dynamically", err, out)
		if out, err := exec.Command("gcc", "-O2", "-o", bin, src).CombinedOutput(); err != nil {
			t.Fatalf("gcc: %v: %s", err, out)
		}
	}
	return bin
}

// storm is a running fork storm.
type storm struct {
	cmd  *exec.Cmd
	out  strings.Builder
	done chan error
}

// startStorm runs "forkstorm ARGS" in the background; the test's deadline
// for it is a minute, after which it is killed by pid.
func startStorm(t *testing.T, bin string, args ...string) *storm {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	st := &storm{cmd: exec.CommandContext(ctx, bin, args...), done: make(chan error, 1)}
	st.cmd.Stdout, st.cmd.Stderr = &st.out, &st.out
	if err := st.cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	go func() { st.done <- st.cmd.Wait(); cancel() }()
	t.Cleanup(func() {
		_ = st.cmd.Process.Kill()
		<-st.done
		st.done <- nil
	})
	return st
}

// wait waits for the storm's end and fails the test if it failed.
func (st *storm) wait(t *testing.T) string {
	t.Helper()
	err := <-st.done
	st.done <- err
	if err != nil {
		t.Fatalf("forkstorm: %v: %s", err, st.out.String())
	}
	return strings.TrimSpace(st.out.String())
}

// usage is what the kernel says a process has used so far: CPU time (all
// its threads, in clock ticks) and context switches of its live threads.
type usage struct {
	ticks, switches int
}

func usageOf(t *testing.T, pid int) usage {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, _ := strconv.Atoi(f[11])
	st, _ := strconv.Atoi(f[12])
	u := usage{ticks: ut + st}
	tasks, _ := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
	for _, task := range tasks {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/task/" + task.Name() + "/status")
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) == 2 && strings.HasSuffix(f[0], "ctxt_switches:") {
				n, _ := strconv.Atoi(f[1])
				u.switches += n
			}
		}
	}
	return u
}

// since is what was used between u0 and u (threads that ended in between
// take their switches with them: the count is a floor).
func (u usage) since(u0 usage) usage {
	return usage{ticks: u.ticks - u0.ticks, switches: max(0, u.switches-u0.switches)}
}

// watchDump asks respawn for its info dump (SIGUSR1) and returns its watch
// section. The dump is made on the event loop, on a turn after the one
// that handled what was logged before the signal: it is a barrier as well
// as a view.
func watchDump(t *testing.T, s *Sup) map[string]any {
	t.Helper()
	n := s.count(msg("info dump"))
	s.signal(unix.SIGUSR1)
	w, _ := s.waitLog(n+1, msg("info dump"))["watch"].(map[string]any)
	if w == nil {
		t.Fatal("the info dump has no watch section")
	}
	return w
}

// watchedNow waits until respawn watches each of pids and has handled
// that fully: its filter lets their exits through from then on (an exit
// before that is found by a look at /proc, its status unknown). It
// returns the dump's watch section, which lists them.
func watchedNow(t *testing.T, s *Sup, pids ...int) map[string]any {
	t.Helper()
	for _, p := range pids {
		s.waitLog(1, msg("watching", "pid", p))
	}
	d := watchDump(t, s)
	for _, p := range pids {
		if watchedEntry(d, p) == nil {
			t.Fatalf("the info dump does not list pid %d as watched: %v", p, d["watched"])
		}
	}
	if d["state"] != "ALIVE" {
		t.Fatalf("the watch task is %v: %v", d["state"], d["reason"])
	}
	return d
}

// watchedEntry is pid's entry in the dump's list of watched processes.
func watchedEntry(d map[string]any, pid int) map[string]any {
	list, _ := d["watched"].([]any)
	for _, e := range list {
		if m, _ := e.(map[string]any); attr(m, "pid") == pid {
			return m
		}
	}
	return nil
}

// exitSeen waits for the log line saying respawn saw o's exit, with that
// status: from the kernel's EXIT event, not found gone.
func exitSeen(s *Sup, o *outsider, status string) {
	s.t.Helper()
	s.waitLog(1, msg("watched process exited", "pid", o.pid, "status", status))
}
