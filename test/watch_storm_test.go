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

// forkstat (Debian's) is a second opinion on what the kernel reported:
// during a storm of N exec+exit of one program, respawn's events stream
// for a notify rule on that program's name has the exec and the exit of
// each of the N pids, and so does forkstat.
//
// Each process lives 800 ms, up to 64 at once. respawn names a process
// from /proc after its EXEC event, and lets its exit through the filter
// once it has matched it: a process reaped before the first is missed, one
// that exits before the second is reported gone, its status unknown.
// forkstat, which filters nothing, misses neither. With 20 ms lives on a
// loaded 2-core host respawn saw 88 % of the execs and 70 % of the exits
// (18 % gone); with 200 ms all of them, but at a load average of 24 (other
// test suites) 85 % and 64 %; with 800 ms, all of them there too.
func TestWatchForkstatAgrees(t *testing.T) {
	const n, nap = 320, "800"
	fsBin, err := exec.LookPath("forkstat")
	if err != nil {
		t.Fatal("forkstat is needed (Debian package forkstat; .ci/run installs it):", err)
	}
	forkstorm := buildStorm(t)
	kid := filepath.Join(t.TempDir(), "sk"+word(t))
	copyFile(t, forkstorm, kid, 0o755) // run as "KID nap MS", it sleeps MS ms and exits 0

	w := newWatchEnv(t)
	s, sock := w.startCtl("--log-level=debug", "--watch-name="+filepath.Base(kid))
	e := startEvents(t, s, sock, true)
	fs := startForkstat(t, fsBin)

	pidsFile := tempFile(t, "pids")
	t.Log(startStorm(t, forkstorm, "exec", strconv.Itoa(n), kid, pidsFile, nap).wait(t))
	pids := map[int]bool{}
	for _, l := range lines(pidsFile) {
		p, _ := strconv.Atoi(l)
		pids[p] = true
	}
	if len(pids) != n {
		t.Fatalf("the storm wrote %d pids, want %d", len(pids), n)
	}

	ours := map[string]map[int]bool{"exec": {}, "exit": {}, "gone": {}}
	e.collect(func(ev map[string]any) bool {
		if k, _ := ev["watch"].(string); ours[k] != nil && pids[attr(ev, "pid")] {
			ours[k][attr(ev, "pid")] = true
		}
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

// stop waits (at most 10 s) for forkstat to report the exit of every pid,
// interrupts it and returns what it saw of those pids, and how many times
// its socket overran.
func (f *forkstat) stop(t *testing.T, pids map[int]bool) (map[string]map[int]bool, int) {
	t.Helper()
	out := map[string]map[int]bool{"exec": {}, "exit": {}}
	deadline := time.Now().Add(10 * time.Second)
	for {
		f.mu.Lock()
		for k, m := range f.seen {
			for p := range m {
				if pids[p] {
					out[k][p] = true
				}
			}
		}
		f.mu.Unlock()
		if len(out["exit"]) == len(pids) || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	_ = f.cmd.Process.Signal(unix.SIGINT)
	select {
	case <-f.done:
	case <-time.After(10 * time.Second):
		t.Errorf("forkstat did not end on SIGINT")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return out, f.nobufs
}
