//go:build linux

package watch

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// These tests run against the kernel's proc connector, as root (CI runs
// as root). Other processes on the machine send events too: a test only
// counts the events of the pids it knows, or events no filter should let
// through.

// storm is a shell that forks stormForks subshells that exit without
// exec (a few seconds on a busy 2-core machine).
const (
	storm      = `i=0; while [ $i -lt 1000 ]; do (:); i=$((i+1)); done`
	stormForks = 1000
)

// smallStorm is a storm of 100 forks: far more exits than a receive
// buffer of 4096 bytes holds (TestIntegrationOverrun fails if not).
const smallStorm = `i=0; while [ $i -lt 100 ]; do (:); i=$((i+1)); done`

// reader runs Receive on a goroutine until the Conn is closed or detached.
// Overruns are counted: other work on the machine (a fork storm of its
// own) can overrun a socket without a filter.
type reader struct {
	events   chan Event
	errs     chan error
	done     chan struct{}
	overruns atomic.Int64
}

func startReader(t *testing.T, c *Conn) *reader {
	t.Helper()
	r := &reader{events: make(chan Event, 1<<16), errs: make(chan error, 1024), done: make(chan struct{})}
	go r.run(c)
	t.Cleanup(func() {
		c.Close()
		for {
			select {
			case <-r.events:
			case <-r.done:
				return
			}
		}
	})
	return r
}

func (r *reader) run(c *Conn) {
	defer close(r.done)
	var evs []Event
	for {
		var err error
		evs, err = c.Receive(evs[:0])
		for _, e := range evs {
			r.events <- e
		}
		if errors.Is(err, ErrOverrun) {
			r.overruns.Add(1)
		}
		if err != nil {
			select {
			case r.errs <- err:
			default:
			}
		}
		if err != nil && !errors.Is(err, ErrOverrun) {
			return
		}
	}
}

// waitExit reads events until the exit of pid, and returns it with the
// events before it.
func (r *reader) waitExit(t *testing.T, pid int) (Event, []Event) {
	t.Helper()
	var before []Event
	deadline := time.After(20 * time.Second)
	for {
		select {
		case e := <-r.events:
			if e.Kind == KindExit && e.Pid == pid {
				return e, before
			}
			before = append(before, e)
		case err := <-r.errs:
			if !errors.Is(err, ErrOverrun) {
				t.Fatalf("receive: %v", err)
			}
		case <-deadline:
			t.Fatalf("no exit event for pid %d after %d other events", pid, len(before))
		}
	}
}

// child starts argv and ends it (by pid) and waits for it at the end of
// the test, if the test did not.
func child(t *testing.T, argv ...string) *exec.Cmd {
	t.Helper()
	return childIn(t, nil, argv...)
}

// childIn is child with stdin.
func childIn(t *testing.T, stdin *os.File, argv ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	if stdin != nil {
		cmd.Stdin = stdin
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd
}

func openConn(t *testing.T, opt Options) *Conn {
	t.Helper()
	c, err := Open(opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestIntegrationExecExit(t *testing.T) {
	tests := []struct {
		name string
		argv []string
		end  func(cmd *exec.Cmd, stdin *os.File) error
		want uint32
	}{
		{"exit 3", []string{"sh", "-c", "read x; exit 3"},
			func(_ *exec.Cmd, stdin *os.File) error { return stdin.Close() }, 3 << 8},
		{"SIGKILL", []string{"sleep", "60"},
			func(cmd *exec.Cmd, _ *os.File) error { return cmd.Process.Kill() }, uint32(syscall.SIGKILL)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := openConn(t, Options{})
			if !c.Masked() {
				t.Error("the 8-byte listen was not acknowledged on a 6.6+ kernel")
			}
			r := startReader(t, c)
			pr, pw, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer pw.Close()
			cmd := childIn(t, pr, tt.argv...)
			pr.Close()
			pid := cmd.Process.Pid
			if err := c.SetWatched([]int{pid}); err != nil {
				t.Fatal(err)
			}
			if err := tt.end(cmd, pw); err != nil {
				t.Fatal(err)
			}
			cmd.Wait()
			e, before := r.waitExit(t, pid)
			if e.Tgid != pid || e.ExitCode != tt.want || e.ExitSignal != uint32(syscall.SIGCHLD) || e.TimeNs == 0 {
				t.Errorf("exit event %+v, want pid %d, code %#x, signal SIGCHLD", e, pid, tt.want)
			}
			if !hasExec(before, pid) {
				t.Errorf("no exec event for pid %d among %d events", pid, len(before))
			}
		})
	}
}

func hasExec(evs []Event, pid int) bool {
	for _, e := range evs {
		if e.Kind == KindExec && e.Pid == pid && e.Tgid == pid {
			return true
		}
	}
	return false
}

// stormCount runs the storm while pid is watched, kills pid, and counts
// the exit events of other processes that arrived before pid's. It logs
// the CPU time this process spent meanwhile (the reader's, mostly).
func stormCount(t *testing.T, opt Options) (exits, all int, overruns int64) {
	cpu := cpuTime()
	defer func() { t.Logf("CPU time of the test process during the storm: %v", cpuTime()-cpu) }()
	c := openConn(t, opt)
	r := startReader(t, c)
	target := child(t, "sleep", "60")
	pid := target.Process.Pid
	if err := c.SetWatched([]int{pid}); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("sh", "-c", storm).CombinedOutput(); err != nil {
		t.Fatalf("storm: %v: %s", err, out)
	}
	target.Process.Kill()
	target.Wait()
	e, before := r.waitExit(t, pid)
	if e.ExitCode != uint32(syscall.SIGKILL) {
		t.Errorf("target's exit code %#x, want SIGKILL", e.ExitCode)
	}
	for _, e := range before {
		if e.Kind == KindExit {
			exits++
		}
	}
	return exits, len(before), r.overruns.Load()
}

// cpuTime is the user and system time of this process.
func cpuTime() time.Duration {
	var ru unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestIntegrationFilterStorm: a thousand forks that exit without exec must not
// reach the reader with the filter (their exits are not of a watched
// pid), and do reach it without (so the filter is what drops them).
func TestIntegrationFilterStorm(t *testing.T) {
	t.Run("filter", func(t *testing.T) {
		exits, all, _ := stormCount(t, Options{})
		t.Logf("with the filter: %d events received, %d of them exits", all, exits)
		if exits != 0 {
			t.Errorf("%d exits of unwatched processes passed the filter", exits)
		}
	})
	t.Run("no filter", func(t *testing.T) {
		exits, all, overruns := stormCount(t, Options{NoFilter: true, RcvBuf: MaxRcvBuf})
		t.Logf("without the filter: %d events received, %d of them exits, %d overruns", all, exits, overruns)
		if exits < stormForks && overruns == 0 || exits == 0 {
			t.Errorf("%d exits received without the filter (%d overruns), want the storm's %d", exits, overruns, stormForks)
		}
	})
}

// TestIntegrationFilterPidLists: a list longer than a classic BPF jump
// reaches (255) keeps the pid near its end and drops an unlisted one; a
// list longer than MaxFilterPids keeps the exit of any process.
func TestIntegrationFilterPidLists(t *testing.T) {
	tests := []struct {
		name     string
		fake     int // pids listed that do not exist
		listed   bool
		wantDrop bool
	}{
		{"300 pids", 300, true, true},
		{"over MaxFilterPids", MaxFilterPids + 1, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := openConn(t, Options{})
			r := startReader(t, c)
			target, other := child(t, "sleep", "60"), child(t, "sleep", "60")
			watched := fakePidList(tt.fake) // above any pid_max (4194304), never running
			if tt.listed {
				watched = append(watched[:tt.fake-10], append([]int{target.Process.Pid}, watched[tt.fake-10:]...)...)
			}
			if err := c.SetWatched(watched); err != nil {
				t.Fatal(err)
			}
			for _, cmd := range []*exec.Cmd{other, target} {
				cmd.Process.Kill()
				cmd.Wait()
			}
			_, before := r.waitExit(t, target.Process.Pid)
			if seen := hasExit(before, other.Process.Pid); seen == tt.wantDrop {
				t.Errorf("exit of the unlisted pid seen: %v, want %v", seen, !tt.wantDrop)
			}
		})
	}
}

// TestIntegrationFilterThreads: the exit of a thread of a watched
// process is kept by the filter (its leader may have ended first, and
// the process ends with its last thread); a thread's of a process not
// watched is dropped, and arrives without the filter.
func TestIntegrationFilterThreads(t *testing.T) {
	tests := []struct {
		name      string
		opt       Options
		watchSelf bool
		want      bool
	}{
		{"filter, watched", Options{}, true, true},
		{"filter, not watched", Options{}, false, false},
		{"no filter", Options{NoFilter: true, RcvBuf: MaxRcvBuf}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := openConn(t, tt.opt)
			r := startReader(t, c)
			target := child(t, "sleep", "60")
			watched := []int{target.Process.Pid}
			if tt.watchSelf {
				watched = append(watched, os.Getpid())
			}
			if err := c.SetWatched(watched); err != nil {
				t.Fatal(err)
			}
			tid := exitThread(t)
			if tt.want {
				// The kernel reports a thread's exit after it has
				// left /proc: a later event may come before it.
				r.waitExit(t, tid)
				return
			}
			target.Process.Kill()
			target.Wait()
			if _, before := r.waitExit(t, target.Process.Pid); hasExit(before, tid) {
				t.Errorf("exit of thread %d of this process seen, want it dropped", tid)
			}
		})
	}
}

// exitThread ends an OS thread of this process (a goroutine that exits
// locked to its thread takes the thread with it) and returns its id once
// the thread is gone. The main thread is never ended (the runtime parks
// it instead): then it tries again on another.
func exitThread(t *testing.T) int {
	tids := make(chan int)
	tid := os.Getpid()
	for tid == os.Getpid() {
		go func() {
			runtime.LockOSThread()
			tids <- unix.Gettid()
		}()
		tid = <-tids
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		if _, err := os.Stat(fmt.Sprintf("/proc/self/task/%d", tid)); os.IsNotExist(err) {
			return tid
		}
		if time.Now().After(deadline) {
			t.Fatalf("thread %d did not exit", tid)
		}
	}
}

func hasExit(evs []Event, pid int) bool {
	for _, e := range evs {
		if e.Kind == KindExit && e.Pid == pid {
			return true
		}
	}
	return false
}

// TestIntegrationOverrun: a tiny buffer nobody reads during a storm
// overruns; Receive says so with ErrOverrun and grows the buffer.
func TestIntegrationOverrun(t *testing.T) {
	c := openConn(t, Options{RcvBuf: 4096, NoFilter: true})
	before := c.RcvBuf()
	if out, err := exec.Command("sh", "-c", smallStorm).CombinedOutput(); err != nil {
		t.Fatalf("storm: %v: %s", err, out)
	}
	r := startReader(t, c)
	select {
	case err := <-r.errs:
		if !errors.Is(err, ErrOverrun) {
			t.Fatalf("receive: %v, want ErrOverrun", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no overrun")
	}
	if c.RcvBuf() <= before {
		t.Errorf("receive buffer %d after the overrun, %d before: it did not grow", c.RcvBuf(), before)
	}
	t.Logf("receive buffer: %d bytes, %d after the overrun", before, c.RcvBuf())
}

// TestIntegrationAdopt: the descriptor of a listening socket, taken over
// as a live upgrade does, delivers the exit that happened while nobody
// read it (the exec window), and the events of the pids it is told.
func TestIntegrationAdopt(t *testing.T) {
	old := openConn(t, Options{})
	early, late := child(t, "sleep", "60"), child(t, "sleep", "60")
	if err := old.SetWatched([]int{early.Process.Pid}); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Dup(old.FD())
	if err != nil {
		t.Fatal(err)
	}
	if err := old.Detach(); err != nil {
		t.Fatal(err)
	}
	early.Process.Kill()
	early.Wait()
	c, err := Adopt(fd, Options{}, []int{early.Process.Pid, late.Process.Pid})
	if err != nil {
		unix.Close(fd)
		t.Fatal(err)
	}
	if flags, _ := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); flags&unix.FD_CLOEXEC == 0 || c.FD() != fd {
		t.Errorf("the adopted descriptor %d (FD %d) is not close-on-exec", fd, c.FD())
	}
	if !c.Masked() {
		t.Error("the adopted socket's mask was not confirmed on a 6.6+ kernel")
	}
	r := startReader(t, c)
	r.waitExit(t, early.Process.Pid)
	late.Process.Kill()
	late.Wait()
	if e, _ := r.waitExit(t, late.Process.Pid); e.ExitCode != uint32(syscall.SIGKILL) {
		t.Errorf("exit code %#x, want SIGKILL", e.ExitCode)
	}
}

// TestIntegrationAdoptExec: the socket handed to a new program (the
// test binary, at descriptor 3) is adopted there and delivers the exit
// that happened before that program even started.
func TestIntegrationAdoptExec(t *testing.T) {
	c := openConn(t, Options{})
	target := child(t, "sleep", "60")
	if err := c.SetWatched([]int{target.Process.Pid}); err != nil {
		t.Fatal(err)
	}
	if err := c.Detach(); err != nil {
		t.Fatal(err)
	}
	target.Process.Kill()
	target.Wait()
	next := exec.Command(os.Args[0])
	next.Env = append(os.Environ(), "WATCH_TEST_MODE=adopt", fmt.Sprintf("WATCH_TEST_PID=%d", target.Process.Pid))
	fd, err := unix.Dup(c.FD())
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fd), "proc-connector")
	defer f.Close()
	next.ExtraFiles = []*os.File{f}
	out, err := next.CombinedOutput()
	if want := fmt.Sprintf("exit %#x", uint32(syscall.SIGKILL)); err != nil || strings.TrimSpace(string(out)) != want {
		t.Errorf("the next program: %v: %q, want %q", err, out, want)
	}
}

// TestIntegrationAdoptRefused: a descriptor Adopt refuses is left open,
// for the caller to close.
func TestIntegrationAdoptRefused(t *testing.T) {
	null, err := os.Open("/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	c := openConn(t, Options{})
	tests := []struct {
		name    string
		fd      func() int
		watched []int
	}{
		{"not a connector socket", func() int { return int(null.Fd()) }, nil},
		{"a pid out of range", func() int { fd, _ := unix.Dup(c.FD()); return fd }, []int{-1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fd := tt.fd()
			if _, err := Adopt(fd, Options{}, tt.watched); err == nil {
				t.Fatal("adopted")
			}
			if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
				t.Errorf("the refused descriptor was closed: %v", err)
			}
		})
	}
}

// TestIntegrationDetachAttach: Detach unblocks Receive; events keep
// queueing, and Attach reads them again.
func TestIntegrationDetachAttach(t *testing.T) {
	c := openConn(t, Options{})
	target := child(t, "sleep", "60")
	pid := target.Process.Pid
	if err := c.SetWatched([]int{pid}); err != nil {
		t.Fatal(err)
	}
	r := startReader(t, c)
	if err := c.Detach(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-r.errs:
		if !errors.Is(err, ErrDetached) || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("receive after detach: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Detach did not unblock Receive")
	}
	target.Process.Kill()
	target.Wait()
	if err := c.Attach(); err != nil {
		t.Fatal(err)
	}
	r2 := startReader(t, c)
	r2.waitExit(t, pid)
}

// TestIntegrationClose: Close unblocks Receive with net.ErrClosed.
func TestIntegrationClose(t *testing.T) {
	c := openConn(t, Options{})
	r := startReader(t, c)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-r.errs:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("receive after close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not unblock Receive")
	}
	if _, err := c.Receive(nil); !errors.Is(err, net.ErrClosed) {
		t.Errorf("receive on a closed conn: %v", err)
	}
}

// TestIntegrationNamespaces: where the kernel does not serve the proc
// connector, Open fails and says why; an unprivileged user is served
// (Linux 6.6 and later).
func TestIntegrationNamespaces(t *testing.T) {
	tests := []struct {
		name string
		argv []string
		want string
	}{
		{"pid namespace", []string{"unshare", "--pid", "--fork"}, "not in the initial pid namespace"},
		{"user namespace", []string{"unshare", "--user", "--map-root-user"}, "not in the initial user namespace"},
		{"network namespace", []string{"unshare", "--net"}, "not in the initial network namespace"},
		{"unprivileged user", []string{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"}, "ok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(tt.argv[0], append(tt.argv[1:], os.Args[0])...)
			cmd.Env = append(os.Environ(), "WATCH_TEST_MODE=open")
			out, _ := cmd.CombinedOutput()
			if !strings.Contains(string(out), tt.want) {
				t.Errorf("Open under %v: %q, want %q", tt.argv, out, tt.want)
			}
		})
	}
}

// TestIntegrationFilterPids: with only pid rules the filter keeps the
// exec of the watched pids and of no other process; the full filter
// keeps every process's exec.
func TestIntegrationFilterPids(t *testing.T) {
	tests := []struct {
		name      string
		set       func(c *Conn, pids []int) error
		otherExec bool
	}{
		{"pids only", (*Conn).SetWatchedPids, false},
		{"every exec", (*Conn).SetWatched, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Started before the socket: their first exec (sh's) is not in it.
			watched, wakeWatched := execLater(t)
			other, wakeOther := execLater(t)
			sh := shell(t)
			waitExe(t, watched.Process.Pid, sh)
			waitExe(t, other.Process.Pid, sh)
			c := openConn(t, Options{})
			r := startReader(t, c)
			if err := tt.set(c, []int{watched.Process.Pid}); err != nil {
				t.Fatal(err)
			}
			wakeOther()
			waitExe(t, other.Process.Pid, "sleep")
			wakeWatched()
			waitExe(t, watched.Process.Pid, "sleep")
			watched.Process.Kill()
			watched.Wait()
			_, before := r.waitExit(t, watched.Process.Pid)
			if !hasExec(before, watched.Process.Pid) {
				t.Errorf("the watched pid's exec did not come through")
			}
			if got := hasExec(before, other.Process.Pid); got != tt.otherExec {
				t.Errorf("another process's exec came through: %v, want %v", got, tt.otherExec)
			}
		})
	}
}

// execLater starts a shell that execs sleep once wake is called.
func execLater(t *testing.T) (*exec.Cmd, func()) {
	t.Helper()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := childIn(t, pr, "sh", "-c", "read x; exec sleep 60")
	pr.Close()
	t.Cleanup(func() { pw.Close() })
	return cmd, func() { pw.Write([]byte("\n")) }
}

// waitExe waits until pid runs a program whose path ends in name.
func waitExe(t *testing.T, pid int, name string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err == nil && strings.HasSuffix(exe, "/"+name) {
			return
		}
	}
	t.Fatalf("pid %d does not run %s", pid, name)
}

// shell is the base name of the program /bin/sh is.
func shell(t *testing.T) string {
	t.Helper()
	p, err := filepath.EvalSymlinks("/bin/sh")
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Base(p)
}
