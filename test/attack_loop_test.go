//go:build linux

package test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A pre-flight check that answers and exits, but leaves a process behind
// that holds its output open (a wrapper script that starts something in
// the background), is taken at its answer: the upgrade goes through, and
// what it left in its process group is killed. Reproduces the defect
// where the answer was read until EOF, so the upgrade was refused after
// 5 s as "no answer" and the leftover process ran on as respawn's child.
func TestUpgradeCheckLeavesGrandchild(t *testing.T) {
	bin := copyBinary(t)
	s := startBin(t, bin, "", "{", selfBin, "helper", "sleep", "}")
	s.waitLog(1, msg("ALIVE", "server", 1))
	pid := s.pidOf(1)
	left := tempFile(t, "left")
	writeScript(t, bin, fmt.Sprintf(`case "$1" in
--upgrade-check=*) sleep 1000 & echo $! > %s.new; mv %s.new %s;;
esac
exec %s "$@"
`, left, left, left, respawnBin))
	s.upgrade(1)
	if s.count(msg("respawn: upgrade refused, carrying on")) != 0 {
		t.Error("the upgrade was refused")
	}
	if ppid, _ := procStat(pid); ppid != s.Pid {
		t.Errorf("server pid %d has parent %d after the upgrade, want respawn %d", pid, ppid, s.Pid)
	}
	grandchild := waitPidFile(t, left)
	eventually(t, "the check's leftover killed and reaped", func() bool { return gone(grandchild) })
	s.stop()
}

// An info dump larger than respawn's whole log buffer (1 MiB: a JSON dump
// of 5000 servers with 60-byte command lines is 1.2 MB) is written, not
// dropped every time. Reproduces the defect where such a dump could never
// be written: every SIGUSR1 was "1 log lines dropped".
func TestHugeDumpWritten(t *testing.T) {
	arg := strings.Repeat("x", 110<<10)
	var args []string
	for i := 0; i < 11; i++ {
		args = append(args, "{", selfBin, "helper", "exit", "1", arg, "}")
	}
	s := begin(t, append([]string{"--retries=0", "--interval=1h"}, args...)...)
	s.waitLog(1, msg("respawn started")) // a SIGUSR1 before the runtime's handlers would kill it
	// Their log lines hold the argument too: some may be dropped, so ask
	// for a dump until one shows every server buried.
	deadline := time.Now().Add(15 * time.Second)
	for !allBuried(s.lastLog(msg("info dump")), 11) {
		if time.Now().After(deadline) {
			t.Fatal("no info dump showing the 11 servers buried")
		}
		s.signal(unix.SIGUSR1)
		time.Sleep(200 * time.Millisecond)
	}
	s.stop()
}

// lastLog is the latest log line matching m, or nil.
func (s *Sup) lastLog(m Match) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.logs) - 1; i >= 0; i-- {
		if m(s.logs[i]) {
			return s.logs[i]
		}
	}
	return nil
}

// allBuried reports whether dump d shows n servers, all BURIED.
func allBuried(d map[string]any, n int) bool {
	if d == nil {
		return false
	}
	list, _ := d["servers"].([]any)
	for _, in := range list {
		if in.(map[string]any)["state"] != "BURIED" {
			return false
		}
	}
	return len(list) == n
}

// A binary replaced on disk while its pre-flight check runs (a package
// upgrade under way) is not executed: the check proved nothing about it.
// Here the check itself is genuine, but replaces the binary with one that
// would exit at once and orphan every server. The upgrade is refused, the
// server stays respawn's child, and the next upgrade checks the binary
// now there. Reproduces the defect where the path was opened again at the
// exec, whatever it then held.
func TestUpgradeBinaryReplacedDuringCheck(t *testing.T) {
	bin := copyBinary(t)
	s := startBin(t, bin, "", "{", selfBin, "helper", "sleep", "}")
	s.waitLog(1, msg("ALIVE", "server", 1))
	pid := s.pidOf(1)
	writeScript(t, bin, fmt.Sprintf(`case "$1" in
--upgrade-check=*) printf '#!/bin/sh\nexit 0\n' > %s.bad; chmod 755 %s.bad; mv %s.bad %s;;
esac
exec %s "$@"
`, bin, bin, bin, bin, respawnBin))
	s.signal(unix.SIGHUP)
	l := s.waitLog(1, msg("respawn: upgrade refused, carrying on"))
	if err, _ := l["err"].(string); !strings.Contains(err, "changed on disk") {
		t.Errorf("refused for %q, want the binary changed on disk", err)
	}
	if ppid, _ := procStat(pid); ppid != s.Pid || s.exited() {
		t.Fatalf("server pid %d has parent %d, want respawn %d, still running", pid, ppid, s.Pid)
	}
	s.signal(unix.SIGHUP) // the binary now there answers nothing
	s.waitLog(2, msg("respawn: upgrade refused, carrying on"))
	s.stop()
}

// A crash-looper waiting in DEAD for its paced respawn is started at once
// by respawnctl start, as an operator asks; stop while it waits cremates
// it for good (the timer does not bring it back); SIGTERM while it waits
// stops respawn without waiting for the timer. Reproduces the defect
// where start refused a DEAD server ("only a CREMATED or BURIED one").
func TestPacedDeadOperator(t *testing.T) {
	s, sock := startCtl(t, "--interval=50ms", "{", "@loop", "sh", "-c", "sleep 0.2; exit 1", "}",
		"{", selfBin, "helper", "sleep", "}")
	waitPaced(t, s, sock, 6)
	out := ctlOK(t, sock, "start", "loop")
	if !strings.Contains(out, "loop ALIVE") {
		t.Errorf("start of a paced DEAD server said %q", out)
	}
	waitPaced(t, s, sock, 1) // the pace goes on: 1 s from now on
	ctlOK(t, sock, "stop", "loop")
	n := s.count(msg("ALIVE", "name", "loop"))
	// Nothing to poll for: give the timer time past the longest delay.
	time.Sleep(1200 * time.Millisecond)
	if in := list(t, sock)["loop"]; in.State != "CREMATED" || s.count(msg("ALIVE", "name", "loop")) != n {
		t.Fatalf("stopped while DEAD, then %s after its delay", in.State)
	}
	ctlOK(t, sock, "start", "loop")
	waitPaced(t, s, sock, 1)
	s.stop()
	if s.after(msg("shutting down"), msg("ALIVE", "name", "loop")) {
		t.Error("a paced DEAD server was respawned after SIGTERM")
	}
}

// after reports whether a line matching m comes after the first matching
// first.
func (s *Sup) after(first, m Match) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := false
	for _, l := range s.logs {
		if seen && m(l) {
			return true
		}
		seen = seen || first(l)
	}
	return false
}

// waitPaced waits for deaths more short lives of loop (6 from the start:
// then it waits at least 320 ms in DEAD), and then until it is DEAD.
func waitPaced(t *testing.T, s *Sup, sock string, deaths int) {
	t.Helper()
	n := s.count(msg("DEAD", "name", "loop"))
	s.waitLog(n+deaths, msg("DEAD", "name", "loop"))
	eventually(t, "loop DEAD", func() bool { return list(t, sock)["loop"].State == "DEAD" })
}

// A SIGTERM that comes while a thousand servers are being started is taken
// within the next 64 starts, not after all of them: the servers not
// started yet are cremated without a start, and respawn exits 0.
// Reproduces the defect where start-up ran every spawn (3.4 s for 1000
// here) before it looked at a signal.
func TestStopDuringStartup(t *testing.T) {
	const n = 1000
	var args []string
	for i := 0; i < n; i++ {
		args = append(args, "{", "sleep", "1000", "}")
	}
	s := begin(t, args...)
	s.waitLog(1, msg("respawn started"))
	s.signal(unix.SIGTERM)
	if c := s.wait(); c != 0 {
		t.Errorf("exit status %d, want 0", c)
	}
	if started := s.count(msg("ALIVE")); started == n {
		t.Errorf("all %d servers were started after a SIGTERM that came during start-up", n)
	}
	if got := s.count(msg("CREMATED")); got != n {
		t.Errorf("%d servers cremated, want %d", got, n)
	}
}

// A SIGTERM that comes while SIGUSR2 revives a thousand buried servers is
// taken within the next 64 revivals, not after all of them. Reproduces the
// defect where the revival of every buried server was one turn of the
// loop, seconds long, that kept a stop waiting.
func TestStopDuringRevival(t *testing.T) {
	const n = 1000
	var args []string
	for i := 0; i < n; i++ {
		args = append(args, "{", "false", "}")
	}
	s := begin(t, append([]string{"--retries=0", "--interval=1h"}, args...)...)
	s.waitLog(n, msg("BURIED"))
	s.signal(unix.SIGUSR2)
	s.waitLog(1, msg("ALIVE", "from", "BURIED"))
	s.signal(unix.SIGTERM)
	s.wait()
	if revived := s.count(msg("ALIVE", "from", "BURIED")); revived == n {
		t.Errorf("all %d servers were revived after a SIGTERM that came during the revival", n)
	}
}

// respawn's output read slowly (a log driver under back-pressure) across
// a live upgrade: the 200 ms flush before execve runs out while the writer
// waits for the reader, and what it had not written is lost, but no line
// is torn: every line read is whole JSON. Reproduces the defect where a
// batch was one write, cut wherever execve found it, and the new image's
// first line was glued to half a line.
func TestSlowReaderUpgradeNoTornLine(t *testing.T) {
	bin := copyBinary(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"--control=none", "--log-format=json"}
	for i := 0; i < 10; i++ { // dumps of 2.7 KB: under PIPE_BUF, written whole
		args = append(args, "{", "sleep", "1000", "}")
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	pid := cmd.Process.Pid
	defer func() {
		for _, p := range descendants(pid) {
			unix.Kill(p, unix.SIGKILL)
		}
		unix.Kill(pid, unix.SIGKILL)
		checkNoChildren(t)
	}()
	sr := &slowReader{}
	done := make(chan struct{})
	go func() { sr.read(r); close(done) }()
	eventually(t, "respawn started", func() bool { return len(children(pid)) == 10 })
	for i := 0; i < 500; i++ { // 1.3 MB of dumps: far more than the pipe holds
		unix.Kill(pid, unix.SIGUSR1)
		time.Sleep(time.Millisecond)
	}
	unix.Kill(pid, unix.SIGHUP)
	eventually(t, "the new image runs", func() bool { return strings.Contains(cmdlineOf(pid), "--re-exec") })
	sr.fast.Store(true)
	eventually(t, "the new image serves", func() bool { return strings.Contains(sr.text(), `"msg":"respawn upgraded"`) })
	unix.Kill(pid, unix.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("respawn: %v", err)
	}
	<-done
	for i, line := range strings.Split(strings.TrimSuffix(sr.text(), "\n"), "\n") {
		if !json.Valid([]byte(line)) {
			t.Fatalf("line %d is not whole JSON: %.200q", i+1, line)
		}
	}
}

// slowReader reads 256 bytes every 2 ms until fast is set.
type slowReader struct {
	fast atomic.Bool
	mu   sync.Mutex
	all  []byte
}

func (sr *slowReader) read(r *os.File) {
	buf := make([]byte, 256)
	for {
		if !sr.fast.Load() {
			time.Sleep(2 * time.Millisecond)
		}
		n, err := r.Read(buf)
		sr.mu.Lock()
		sr.all = append(sr.all, buf[:n]...)
		sr.mu.Unlock()
		if err != nil {
			return
		}
	}
}

func (sr *slowReader) text() string {
	sr.mu.Lock()
	defer sr.mu.Unlock()
	return string(sr.all)
}

func cmdlineOf(pid int) string {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	return string(b)
}
