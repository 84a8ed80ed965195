//go:build linux

// Package test drives the built respawn and respawnctl binaries as a user
// would: through argv, signals, the control socket and their output.
//
// TestMain builds both binaries once, makes the test process a child
// subreaper (so every orphan a test leaves comes back to it), and after
// every test checks that no child or zombie is left. The test binary also
// plays the servers: run as "TESTBIN helper MODE ARGS...", it does MODE
// instead of testing (see helper.go).
package test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

var (
	respawnBin    string // the built respawn
	respawnctlBin string // the built respawnctl
	selfBin       string // this test binary, to run as a helper server
)

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "helper" {
		os.Exit(helper(os.Args[2:]))
	}
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "respawn-test-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	build := exec.Command("go", "build", "-o", dir+"/", "../cmd/respawn", "../cmd/respawnctl")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the binaries:", err)
		return 1
	}
	respawnBin, respawnctlBin = filepath.Join(dir, "respawn"), filepath.Join(dir, "respawnctl")
	if selfBin, err = os.Executable(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		fmt.Fprintln(os.Stderr, "prctl:", err)
		return 1
	}
	return m.Run()
}

// checkNoChildren fails t if any process (running or zombie) is still a
// child of the test process, then kills and reaps it by pid.
func checkNoChildren(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		kids := children(os.Getpid())
		if len(kids) == 0 {
			return
		}
		if time.Now().After(deadline) {
			for _, k := range kids {
				t.Errorf("left behind: pid %d (%s)", k, cmdline(k))
				_ = unix.Kill(k, unix.SIGKILL)
				var ws unix.WaitStatus
				_, _ = unix.Wait4(k, &ws, 0, nil)
			}
			return
		}
		// Orphans of a finished supervisor end up here: collect the
		// ones that have exited, give the others a moment.
		for _, k := range kids {
			var ws unix.WaitStatus
			_, _ = unix.Wait4(k, &ws, unix.WNOHANG, nil)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// children lists the processes whose parent is pid.
func children(pid int) []int {
	ents, _ := os.ReadDir("/proc")
	var kids []int
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, _ := procStat(p); ppid == pid {
			kids = append(kids, p)
		}
	}
	return kids
}

// procStat returns the parent pid and state letter of pid.
func procStat(pid int) (ppid int, state byte) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return -1, 0
	}
	i := strings.LastIndexByte(string(b), ')')
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 {
		return -1, 0
	}
	ppid, _ = strconv.Atoi(f[1])
	return ppid, f[0][0]
}

func cmdline(pid int) string {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	return strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	_, st := procStat(pid)
	return st != 0 && st != 'Z'
}

// Sup is a running respawn under test, logging JSON lines.
type Sup struct {
	t    *testing.T
	cmd  *exec.Cmd
	Pid  int
	mu   sync.Mutex
	logs []map[string]any // every JSON log line, in order
	text []string         // every other line (helpers' output)
	cond *sync.Cond
	done chan struct{} // closed when respawn has exited
	code int
}

// start runs respawn with args (flags and groups; --log-format=json is
// added first). The test ends it by pid and checks for leftovers.
func start(t *testing.T, args ...string) *Sup {
	t.Helper()
	return startIn(t, "", args...)
}

func startIn(t *testing.T, dir string, args ...string) *Sup {
	t.Helper()
	return startBin(t, respawnBin, dir, args...)
}

// startBin runs the respawn binary at bin, in dir, as start does.
func startBin(t *testing.T, bin, dir string, args ...string) *Sup {
	t.Helper()
	s := &Sup{t: t, done: make(chan struct{})}
	s.cond = sync.NewCond(&s.mu)
	s.cmd = exec.Command(bin, append([]string{"--log-format=json"}, args...)...)
	s.cmd.Dir = dir
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	s.cmd.Stdout = s.cmd.Stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.Pid = s.cmd.Process.Pid
	go s.read(stderr)
	t.Cleanup(s.cleanup)
	return s
}

func (s *Sup) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		line := sc.Text()
		var m map[string]any
		s.mu.Lock()
		if json.Unmarshal([]byte(line), &m) == nil {
			s.logs = append(s.logs, m)
		} else {
			s.text = append(s.text, line)
		}
		s.cond.Broadcast()
		s.mu.Unlock()
	}
	err := s.cmd.Wait()
	s.mu.Lock()
	s.code = s.cmd.ProcessState.ExitCode()
	if err != nil && s.code < 0 {
		s.code = -int(s.cmd.ProcessState.Sys().(syscall.WaitStatus).Signal())
	}
	s.cond.Broadcast()
	s.mu.Unlock()
	close(s.done)
}

func (s *Sup) cleanup() {
	select {
	case <-s.done:
	default:
		s.t.Errorf("respawn (pid %d) still running at the end of the test: killing it", s.Pid)
		_ = unix.Kill(s.Pid, unix.SIGKILL)
		// Its servers still hold its stderr: end them too, or the
		// reader would wait for them forever.
		s.killServers()
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			s.t.Errorf("respawn's output still open 10 s after it was killed")
		}
	}
	for _, pid := range s.pids() {
		if alive(pid) {
			s.t.Errorf("server pid %d outlived respawn: %s", pid, cmdline(pid))
			_ = unix.Kill(pid, unix.SIGKILL)
		}
	}
	checkNoChildren(s.t)
	if s.t.Failed() {
		s.dumpLogs()
	}
}

// killServers SIGKILLs, by pid, every server the logs name with its process
// group, and every child the test process adopted.
func (s *Sup) killServers() {
	for _, pid := range s.pids() {
		_ = unix.Kill(-pid, unix.SIGKILL)
		_ = unix.Kill(pid, unix.SIGKILL)
	}
	for _, pid := range children(os.Getpid()) {
		if pid != s.Pid {
			_ = unix.Kill(pid, unix.SIGKILL)
		}
	}
}

func (s *Sup) dumpLogs() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.logs {
		b, _ := json.Marshal(m)
		s.t.Log(string(b))
	}
	for _, l := range s.text {
		s.t.Log(l)
	}
}

// pids is every server pid the logs mention.
func (s *Sup) pids() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []int
	for _, m := range s.logs {
		if p, ok := m["pid"].(float64); ok && p > 0 && int(p) != s.Pid {
			out = append(out, int(p))
		}
	}
	return out
}

// Match is a predicate on one JSON log line.
type Match func(map[string]any) bool

// msg matches a log line with that message and, for each key=value pair in
// kv, that attribute (compared as text).
func msg(m string, kv ...any) Match {
	return func(l map[string]any) bool {
		if l["msg"] != m {
			return false
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if fmt.Sprint(l[kv[i].(string)]) != fmt.Sprint(kv[i+1]) {
				return false
			}
		}
		return true
	}
}

// waitLog waits until the n-th (1-based) log line matching m appears and
// returns it. It fails the test if respawn exits or 10 s pass first.
func (s *Sup) waitLog(n int, m Match) map[string]any {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	timer := time.AfterFunc(10*time.Second, func() { s.mu.Lock(); s.cond.Broadcast(); s.mu.Unlock() })
	defer timer.Stop()
	s.mu.Lock()
	for {
		seen := 0
		for _, l := range s.logs {
			if m(l) {
				seen++
				if seen == n {
					s.mu.Unlock()
					return l
				}
			}
		}
		if time.Now().After(deadline) || s.exited() {
			s.mu.Unlock()
			s.t.Fatalf("log line #%d not seen (respawn exited: %v)", n, s.exited())
			return nil
		}
		s.cond.Wait()
	}
}

func (s *Sup) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// count is how many log lines match m so far.
func (s *Sup) count(m Match) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, l := range s.logs {
		if m(l) {
			n++
		}
	}
	return n
}

// waitText waits for a non-JSON output line matching re.
func (s *Sup) waitText(re *regexp.Regexp) string {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		for _, l := range s.text {
			if re.MatchString(l) {
				s.mu.Unlock()
				return l
			}
		}
		s.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	s.t.Fatalf("no output line matching %v", re)
	return ""
}

// signal sends sig to respawn.
func (s *Sup) signal(sig syscall.Signal) {
	s.t.Helper()
	if err := unix.Kill(s.Pid, sig); err != nil {
		s.t.Fatalf("kill %d %v: %v", s.Pid, sig, err)
	}
}

// wait waits for respawn to exit and returns its exit status.
func (s *Sup) wait() int {
	s.t.Helper()
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		s.t.Fatalf("respawn (pid %d) did not exit", s.Pid)
	}
	return s.code
}

// stop sends SIGTERM and waits for respawn to exit; it returns the status.
func (s *Sup) stop() int {
	s.t.Helper()
	s.signal(unix.SIGTERM)
	return s.wait()
}

// pidOf returns the pid in the latest ALIVE log line of the server.
func (s *Sup) pidOf(index int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.logs) - 1; i >= 0; i-- {
		l := s.logs[i]
		if l["msg"] == "ALIVE" && l["server"] == float64(index) {
			return int(l["pid"].(float64))
		}
	}
	return 0
}

// eventually polls cond every few milliseconds until it holds or 10 s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for: %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// waitLived waits until the server's current process has lived at least
// ns nanoseconds by /proc, so that its death counts as late.
func waitLived(t *testing.T, s *Sup, index int, ns int64) {
	t.Helper()
	start := time.Now()
	pid := s.pidOf(index) // 0 until its ALIVE line is read: a server may show itself sooner
	eventually(t, "server has lived long enough", func() bool {
		if pid == 0 {
			pid = s.pidOf(index)
		}
		return pid != 0 && alive(pid) && time.Since(start) > time.Duration(ns)+50*time.Millisecond
	})
}
