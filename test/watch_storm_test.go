//go:build linux

package test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// stormForks is the size of the fork storms: a second or two of forks on
// the 2-core machines the tests run on.
const stormForks = 30000

// unfilteredForks is the size of the storms that run without the filter:
// every exit reaches respawn, which then competes with the storm for the
// CPU. A third of stormForks still overruns a 4096-byte socket buffer a
// few times and a ring of 16 events tens of times, and lasts over a
// second, long enough to kill the target during it.
const unfilteredForks = stormForks / 3

// stormTarget starts a watched outsider and respawn watching it by its
// executable, with args before the rule, and waits until it is watched.
// It returns the dump's watch section of that moment.
func stormTarget(t *testing.T, w *watchEnv, args ...string) (*Sup, *outsider, map[string]any) {
	t.Helper()
	dir := t.TempDir()
	o := w.start(w.program(dir, "wt"+word(t)), "helper", "sleep")
	s := w.begin(append(args, "--watch-exe="+dir+"/wt*")...)
	return s, o, watchedNow(t, s, o.pid)
}

// stormRunning waits until the storm has used CPU time: it is forking.
func stormRunning(t *testing.T, st *storm) {
	t.Helper()
	eventually(t, "the fork storm running", func() bool {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(st.cmd.Process.Pid) + "/stat")
		if err != nil {
			return true // over already
		}
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
		for _, i := range []int{11, 12, 13, 14} { // utime stime cutime cstime
			if n, _ := strconv.Atoi(f[i]); n > 0 {
				return true
			}
		}
		return false
	})
}

// During a storm of processes that fork and exit, the watched target's
// death is seen and it is restarted; the socket never overruns with the
// default buffer; and the filter keeps the storm in the kernel: the
// events respawn read from its socket during the storm (the dump's
// "received": the target's exit, and the execs of the whole machine) are
// far fewer than the storm's tens of thousands of exits. respawn's CPU time and
// context switches are reported, not judged: speed is make bench's.
func TestWatchForkStorm(t *testing.T) {
	w := newWatchEnv(t)
	forkstorm := buildStorm(t)
	s, o, d0 := stormTarget(t, w)

	u0 := usageOf(t, s.Pid)
	st := startStorm(t, forkstorm, "fork", strconv.Itoa(stormForks))
	stormRunning(t, st)
	o.kill(t)
	exitSeen(s, o, "signal SIGKILL")
	s.waitLog(1, msg("restarting watched process as a server", "pid", o.pid))
	restartedAs(t, s, o.argv)
	out := st.wait(t)
	u := usageOf(t, s.Pid).since(u0)
	d := watchDump(t, s)
	received := attr(d, "received") - attr(d0, "received")
	t.Logf("%s; respawn read %d events, used %d ticks of CPU (%d Hz) and %d context switches, the restart included",
		out, received, u.ticks, 100, u.switches)

	for _, m := range []string{"watch: events lost", "watch: proc connector overran, rescanning /proc"} {
		if n := s.count(msg(m)); n != 0 {
			t.Errorf("%q logged %d times during a storm of %d forks with the default buffer", m, n, stormForks)
		}
	}
	// Without the filter each of the storm's exits is an event; with it,
	// what comes is the execs of the whole machine (other tests' too).
	if received > stormForks/10 {
		t.Errorf("respawn read %d events from its socket during a storm of %d forks: the filter lets the storm in", received, stormForks)
	}
	if d["overruns"] != float64(0) || d["dropped"] != float64(0) {
		t.Errorf("dump after the storm: overruns %v, dropped %v", d["overruns"], d["dropped"])
	}
	// As root the 8 MiB asked for is forced past net.core.rmem_max (the
	// kernel shows twice what it was asked).
	if rb := attr(d, "rcvbuf"); rb < 8<<20 {
		t.Errorf("the socket's receive buffer is %d bytes, want the 8 MiB asked for at least", rb)
	}
	if code := s.stop(); code != 0 {
		t.Errorf("respawn exit status %d after SIGTERM, want 0", code)
	}
}

// With a socket buffer too small for a storm and no filter, the socket
// overruns: respawn says so, rescans /proc, and the target killed during
// the storm is restarted all the same (from its exit event, or, if that
// was lost, from the rescan that finds it gone).
func TestWatchOverrunRecovery(t *testing.T) {
	t.Setenv("RESPAWN_WATCH_RCVBUF", "4096")
	t.Setenv("RESPAWN_WATCH_BPF", "off")
	w := newWatchEnv(t)
	forkstorm := buildStorm(t)
	s, o, _ := stormTarget(t, w)

	st := startStorm(t, forkstorm, "fork", strconv.Itoa(unfilteredForks))
	stormRunning(t, st)
	o.kill(t)
	s.waitLog(1, msg("watch: proc connector overran, rescanning /proc"))
	s.waitLog(1, msg("restarting watched process as a server", "pid", o.pid))
	restartedAs(t, s, o.argv)
	out := st.wait(t)
	d := watchDump(t, s)
	t.Logf("%s; %d overruns logged, the dump counts %v; exit seen: %d, found gone: %d", out,
		s.count(msg("watch: proc connector overran, rescanning /proc")), d["overruns"],
		s.count(msg("watched process exited", "pid", o.pid)),
		s.count(msg("watched process gone, its exit was not seen", "pid", o.pid)))
	if n := s.count(msg("watch: proc connector overran, rescanning /proc")); attr(d, "overruns") != n {
		t.Errorf("the dump counts %v overruns, the log %d", d["overruns"], n)
	}
	if code := s.stop(); code != 0 {
		t.Errorf("respawn exit status %d after SIGTERM, want 0", code)
	}
}

// With a ring of 16 events between the socket's reader and the event
// loop, and no filter, a fork storm overflows the ring: each episode of
// drops is logged once with its count, the counts add up to the dump's,
// and the target killed during the storm is restarted all the same (from
// its exit, or from the rescan that follows each episode).
func TestWatchRingOverflow(t *testing.T) {
	t.Setenv("RESPAWN_WATCH_BPF", "off")
	w := newWatchEnv(t)
	forkstorm := buildStorm(t)
	s, o, _ := stormTarget(t, w, "--watch-buffer=16")

	st := startStorm(t, forkstorm, "fork", strconv.Itoa(unfilteredForks))
	stormRunning(t, st)
	o.kill(t)
	s.waitLog(1, msg("restarting watched process as a server", "pid", o.pid))
	restartedAs(t, s, o.argv)
	out := st.wait(t)
	// The storm has ended, but its last exits may still be in the socket,
	// or dropped by the ring in an episode not yet logged: the counts
	// agree once respawn has caught up.
	episodes, dropped, inDump := 0, 0, 0
	eventually(t, "the logged drops adding up to the dump's", func() bool {
		inDump = attr(watchDump(t, s), "dropped")
		episodes, dropped = loggedDrops(s)
		return dropped == inDump
	})
	t.Logf("%s; %d episodes of drops logged, %d events dropped", out, episodes, dropped)
	if episodes == 0 {
		t.Errorf("no episode of drops logged; the dump says %d dropped", inDump)
	}
	if code := s.stop(); code != 0 {
		t.Errorf("respawn exit status %d after SIGTERM, want 0", code)
	}
}

// loggedDrops counts the episodes of drops respawn logged, and the
// events they dropped.
func loggedDrops(s *Sup) (episodes, dropped int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.logs {
		if l["msg"] == "watch: events lost" {
			episodes++
			dropped += attr(l, "dropped")
		}
	}
	return episodes, dropped
}

// forkstat (Debian's) is a second opinion on what the kernel reported: a
// storm of N processes of one program, started as fast as they can be, each
// living until the test lets them all go and then exiting within half a
// second: respawn's events stream for a notify rule on that program's name
// has the exec and the exit (its status seen) of each of the N pids, and so
// does forkstat.
//
// The processes wait for the test because respawn names a process from
// /proc after its EXEC event, and lets its exit through the filter once it
// has matched it: a process reaped before the first is missed, one that
// exits before the second is reported gone, its status unknown (forkstat,
// which filters nothing, misses neither). On a 2-core host at a load of 6,
// respawn logged a process watched a median 4 ms after its exec (p99 90 ms,
// max 104 ms); of processes that lived 20 ms it saw 93 % of the execs and 84 %
// of the exits (9 % gone); at a load average of 24 (other test suites), of
// processes that lived 200 ms, 85 % and 64 %.
func TestWatchForkstatAgrees(t *testing.T) {
	const n = 400
	fsBin, err := exec.LookPath("forkstat")
	if err != nil {
		t.Fatal("forkstat is needed (Debian package forkstat; .ci/run installs it):", err)
	}
	forkstorm := buildStorm(t)
	kid := filepath.Join(t.TempDir(), "sk"+word(t))
	copyFile(t, forkstorm, kid, 0o755) // run as "KID hold FIFO 500", it waits for the FIFO's end
	fifo := filepath.Join(t.TempDir(), "hold")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	hold, err := os.OpenFile(fifo, os.O_RDWR, 0) // the FIFO's one writer: closing it lets them go
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hold.Close() })

	w := newWatchEnv(t)
	s, sock := w.startCtl("--log-level=debug", "--watch-name="+filepath.Base(kid))
	e := startEvents(t, s, sock, true)
	fs := startForkstat(t, fsBin)

	pidsFile := tempFile(t, "pids")
	st := startStorm(t, forkstorm, "exec", strconv.Itoa(n), strconv.Itoa(n), pidsFile, kid, "hold", fifo, "500")
	var pids map[int]bool
	eventually(t, "the storm's processes started", func() bool { pids = pidsIn(pidsFile); return len(pids) == n })
	ours := map[string]map[int]bool{"exec": {}, "exit": {}, "gone": {}}
	record := func(ev map[string]any) {
		if k, _ := ev["watch"].(string); ours[k] != nil && pids[attr(ev, "pid")] {
			ours[k][attr(ev, "pid")] = true
		}
	}
	e.collect(func(ev map[string]any) bool { record(ev); return len(ours["exec"]) == n })
	watchDump(t, s) // the filter follows every pid picked up before it
	fs.wait("exec", pids)

	hold.Close()
	t.Log(st.wait(t))
	e.collect(func(ev map[string]any) bool {
		record(ev)
		return len(ours["exit"])+len(ours["gone"]) == n
	})
	theirs, nobufs := fs.stop(t, pids)
	t.Logf("respawn: %d exec, %d exit, %d gone; forkstat: %d exec, %d exit, %d overruns",
		len(ours["exec"]), len(ours["exit"]), len(ours["gone"]), len(theirs["exec"]), len(theirs["exit"]), nobufs)
	for _, k := range []string{"exec", "exit"} {
		// forkstat's socket may overrun on a loaded machine (it says
		// so, "nobufs"): then what it saw is a floor.
		if len(ours[k]) != n || len(theirs[k]) != n && nobufs == 0 {
			t.Errorf("%s of %d processes: respawn saw %d, forkstat %d", k, n, len(ours[k]), len(theirs[k]))
		}
		for p := range theirs[k] {
			if !ours[k][p] {
				t.Errorf("forkstat saw the %s of pid %d, respawn did not", k, p)
			}
		}
	}
	if code := s.stop(); code != 0 {
		t.Errorf("respawn exit status %d after SIGTERM, want 0", code)
	}
}

// pidsIn reads the whole lines of a file of pids.
func pidsIn(file string) map[int]bool {
	b, _ := os.ReadFile(file)
	b = b[:strings.LastIndexByte(string(b), '\n')+1]
	pids := map[int]bool{}
	for _, l := range strings.Fields(string(b)) {
		if p, err := strconv.Atoi(l); err == nil {
			pids[p] = true
		}
	}
	return pids
}

// forkstat is a running "forkstat -e exec,exit", its output parsed.
type forkstat struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	seen   map[string]map[int]bool // event -> pids
	nobufs int                     // the overruns of forkstat's own socket
	head   chan struct{}
	done   chan struct{}
}

// startForkstat runs forkstat, line-buffered, and waits for its heading:
// it is then listening.
func startForkstat(t *testing.T, bin string) *forkstat {
	t.Helper()
	f := &forkstat{cmd: exec.Command(bin, "-e", "exec,exit", "-l"), head: make(chan struct{}), done: make(chan struct{}),
		seen: map[string]map[int]bool{"exec": {}, "exit": {}}}
	out, err := f.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := f.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go f.read(out)
	t.Cleanup(func() {
		_ = f.cmd.Process.Kill()
		<-f.done
	})
	select {
	case <-f.head:
	case <-time.After(10 * time.Second):
		t.Fatal("forkstat printed no heading within 10 s")
	}
	return f
}

// read parses lines "TIME EVENT PID ...", and counts the lines
// "TIME recv ----- nobufs ..." forkstat prints when its socket overran.
func (f *forkstat) read(r interface{ Read([]byte) (int, error) }) {
	defer close(f.done)
	defer f.cmd.Wait()
	sc := bufio.NewScanner(r)
	for first := true; sc.Scan(); first = false {
		if first {
			close(f.head)
			continue
		}
		fl := strings.Fields(sc.Text())
		if len(fl) < 3 {
			continue
		}
		if fl[1] == "recv" && len(fl) > 3 && fl[3] == "nobufs" {
			f.mu.Lock()
			f.nobufs++
			f.mu.Unlock()
			continue
		}
		if pid, err := strconv.Atoi(fl[2]); err == nil && f.seen[fl[1]] != nil {
			f.mu.Lock()
			f.seen[fl[1]][pid] = true
			f.mu.Unlock()
		}
	}
}

// of is what forkstat has seen so far of pids.
func (f *forkstat) of(pids map[int]bool) map[string]map[int]bool {
	out := map[string]map[int]bool{"exec": {}, "exit": {}}
	f.mu.Lock()
	defer f.mu.Unlock()
	for k, m := range f.seen {
		for p := range m {
			if pids[p] {
				out[k][p] = true
			}
		}
	}
	return out
}

// wait waits (at most 10 s) until forkstat has reported the event kind of
// every pid.
func (f *forkstat) wait(kind string, pids map[int]bool) {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if len(f.of(pids)[kind]) == len(pids) {
			return
		}
	}
}

// stop waits (at most 10 s) for forkstat to report the exit of every pid,
// interrupts it and returns what it saw of those pids, and how many times
// its socket overran.
func (f *forkstat) stop(t *testing.T, pids map[int]bool) (map[string]map[int]bool, int) {
	t.Helper()
	f.wait("exit", pids)
	out := f.of(pids)
	_ = f.cmd.Process.Signal(unix.SIGINT)
	select {
	case <-f.done:
	case <-time.After(10 * time.Second):
		t.Logf("forkstat did not end within 10 s of SIGINT: killed") // its business, not respawn's
		_ = f.cmd.Process.Kill()
		<-f.done
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return out, f.nobufs
}

// With only pid rules the filter keeps out the exec of every other
// process: an exec storm elsewhere does not wake respawn. A rule by name
// needs every exec, and then the storm's come through.
func TestWatchPidRulesIgnoreExecs(t *testing.T) {
	const execs = 2000
	tests := []struct {
		name  string
		extra []string
		storm bool // the storm's execs reach respawn
	}{
		{"pid rules only", nil, false},
		{"and a name rule", []string{"--watch-name=nomatch" + word(t)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWatchEnv(t)
			forkstorm := buildStorm(t)
			o := w.start(w.program(t.TempDir(), "wt"+word(t)), "helper", "sleep")
			s := w.begin(append(tt.extra, "--watch-pid="+strconv.Itoa(o.pid))...)
			d0 := watchedNow(t, s, o.pid)
			out := startStorm(t, forkstorm, "exec", strconv.Itoa(execs), "16", "-", forkstorm).wait(t)
			o.kill(t)
			exitSeen(s, o, "signal SIGKILL")
			restartedAs(t, s, o.argv)
			received := attr(watchDump(t, s), "received") - attr(d0, "received")
			t.Logf("%s; respawn read %d events", out, received)
			if tt.storm && received < execs {
				t.Errorf("respawn read %d events during a storm of %d execs with a name rule: want them all", received, execs)
			}
			if !tt.storm && received > execs/10 {
				t.Errorf("respawn read %d events during a storm of %d execs with pid rules only: the filter lets them in", received, execs)
			}
			if code := s.stop(); code != 0 {
				t.Errorf("respawn exit status %d after SIGTERM, want 0", code)
			}
		})
	}
}
