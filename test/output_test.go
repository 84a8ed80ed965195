//go:build linux

package test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Captured lines are JSON objects tagged with the server's name and
// stream, valid for any bytes (invalid UTF-8, control characters), and a
// 100 KiB line comes whole in 4 KiB pieces marked partial. A server with
// --output=inherit still writes to respawn's own output, untagged.
func TestOutputTaggedJSON(t *testing.T) {
	// raw writes to respawn's own stderr: it waits until web's lines are
	// logged, or its write could land inside one of respawn's (a pipe
	// write over PIPE_BUF is not atomic), as any inheriting server's may.
	logged := filepath.Join(t.TempDir(), "logged")
	s := begin(t, "{", "@web", selfBin, "helper", "outputs", "}",
		"{", "@raw", "--output=inherit", "sh", "-c", `while [ ! -e "$1" ]; do sleep 0.01; done; echo raw 0`, "sh", logged, "}")
	got := s.waitCaptured("web", "stdout", 4)
	s.waitCaptured("web", "stderr", 1)
	if err := os.WriteFile(logged, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	want := []string{"hello", "a\ufffdb\x01c", longLine, "end"}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d: %.60q, want %.60q", i, got[i], want[i])
		}
	}
	if e := s.waitCaptured("web", "stderr", 1); e[0] != "oops" {
		t.Errorf("stderr: %q, want oops", e[0])
	}
	if n := s.count(func(l map[string]any) bool { return l["server"] == "web" && l["partial"] == true }); n != 100<<10/4096-1 {
		t.Errorf("%d partial pieces, want %d", n, 100<<10/4096-1)
	}
	s.waitText(regexp.MustCompile(`^raw 0$`))
	for _, l := range s.textLines() {
		if strings.Contains(l, "hello") || strings.Contains(l, "oops") {
			t.Errorf("captured line written untagged: %.80q", l)
		}
	}
	if code := s.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
}

// In text logs a captured line is "name| line"; a piece of a longer line
// is "name+ piece".
func TestOutputTaggedText(t *testing.T) {
	s := beginText(t, "{", "@web", selfBin, "helper", "outputs", "}")
	s.waitText(regexp.MustCompile(`^web\| hello$`))
	s.waitText(regexp.MustCompile(`^web\| oops$`))
	s.waitText(regexp.MustCompile(`^web\+ 0123456789abcdef`))
	s.waitText(regexp.MustCompile(`^web\| end$`))
	unix.Kill(s.Pid, unix.SIGTERM)
	s.wait()
}

// Two chatty servers at once: every line of each arrives, in its order.
func TestOutputOrderTwoServers(t *testing.T) {
	const n = 3000
	s := begin(t, "{", "@a", selfBin, "helper", "count", "a", strconv.Itoa(n), "}",
		"{", "@b", selfBin, "helper", "count", "b", strconv.Itoa(n), "}")
	for _, name := range []string{"a", "b"} {
		if err := counted(s.waitCaptured(name, "stdout", n), name, n); err != nil {
			t.Errorf("server %s: %v", name, err)
		}
	}
	s.stop()
}

// floodRun is respawn started with its stdout and stderr on a pipe the
// test controls, and the flood server's progress file.
type floodRun struct {
	t    *testing.T
	cmd  *exec.Cmd
	r    *os.File
	done chan error
	file string // "PID COUNT" lines of the flood server
	rec  string // "PID ..." lines, one per start of the record server
}

func startFlood(t *testing.T, control string) *floodRun {
	f := &floodRun{t: t, done: make(chan error, 1), file: tempFile(t, "flood"), rec: tempFile(t, "rec")}
	f.cmd = exec.Command(respawnBin, "--control="+control, "--interval=100ms",
		"{", "@flood", selfBin, "helper", "flood", f.file, "}",
		"{", "@rec", selfBin, "helper", "record", f.rec, "}")
	f.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	f.r = r
	f.cmd.Stdout, f.cmd.Stderr = w, w
	if err := f.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	go func() { f.done <- f.cmd.Wait() }()
	t.Cleanup(f.cleanup)
	return f
}

// cleanup kills what is left, by pid, and checks for leftovers.
func (f *floodRun) cleanup() {
	select {
	case <-f.done:
	default:
		unix.Kill(f.cmd.Process.Pid, unix.SIGKILL)
		<-f.done
	}
	for _, file := range []string{f.file, f.rec} {
		for _, l := range lines(file) {
			if pid, err := strconv.Atoi(strings.Fields(l)[0]); err == nil {
				unix.Kill(pid, unix.SIGKILL)
			}
		}
	}
	f.r.Close()
	checkNoChildren(f.t)
}

// progress is the flood server's last "PID COUNT" line.
func (f *floodRun) progress() (pid, count int) {
	l := lines(f.file)
	if len(l) == 0 {
		return 0, 0
	}
	fs := strings.Fields(l[len(l)-1])
	if fs[0] == "error" {
		f.t.Fatalf("the flood server saw a write error: %s", l[len(l)-1])
	}
	pid, _ = strconv.Atoi(fs[0])
	count, _ = strconv.Atoi(fs[1])
	return pid, count
}

// keepsWriting checks that the flood server's first process writes
// another 20000 lines (4 MB, far more than every buffer on the way holds)
// without dying or seeing an error.
func (f *floodRun) keepsWriting() {
	f.t.Helper()
	var pid0 int
	eventually(f.t, "the flood server started", func() bool { pid0, _ = f.progress(); return pid0 > 0 })
	_, from := f.progress()
	eventually(f.t, "the flood server writes on", func() bool {
		pid, n := f.progress()
		if pid != pid0 {
			f.t.Fatalf("the flood server was restarted (pid %d, then %d): %s", pid0, pid, strings.Join(lines(f.file), "; "))
		}
		return n >= from+20000
	})
}

// respawns checks that respawn still supervises: the record server,
// killed, is started again.
func (f *floodRun) respawns() {
	f.t.Helper()
	pid := waitPidFile(f.t, f.rec)
	eventually(f.t, "the record server lived past --interval", func() bool {
		st, err := os.Stat("/proc/" + strconv.Itoa(pid))
		return err == nil && time.Since(st.ModTime()) > 300*time.Millisecond
	})
	unix.Kill(pid, unix.SIGKILL)
	waitLines(f.t, f.rec, 2)
}

// stops checks that respawn ends on SIGTERM.
func (f *floodRun) stops() {
	f.t.Helper()
	unix.Kill(f.cmd.Process.Pid, unix.SIGTERM)
	select {
	case <-f.done:
		f.done <- nil // for cleanup
	case <-time.After(10 * time.Second):
		f.t.Fatal("respawn did not end after SIGTERM")
	}
}

// respawn ... 2>&1 | head -3: when whoever reads respawn's output goes
// away, captured servers keep running and writing (no SIGPIPE, no EPIPE)
// and respawn keeps supervising. With inherited output the flood server
// died of SIGPIPE at its next write.
func TestOutputReaderGone(t *testing.T) {
	f := startFlood(t, "none")
	br := bufio.NewReader(f.r)
	for i := 0; i < 3; i++ {
		if _, err := br.ReadString('\n'); err != nil {
			t.Fatal(err)
		}
	}
	f.r.Close()
	f.keepsWriting()
	f.respawns()
	f.keepsWriting()
	f.stops()
}

// A reader that never reads: respawn's output pipe fills, lines are
// dropped and counted, and still the servers write on and the loop
// respawns and stops.
func TestOutputReaderStalled(t *testing.T) {
	sock := tempFile(t, "control.sock")
	f := startFlood(t, sock)
	f.keepsWriting()
	if in := list(t, sock)["flood"]; in.OutputDropped == 0 {
		t.Errorf("list: flood's output_dropped is 0 with the reader stalled: %+v", in)
	}
	f.respawns()
	f.stops()
}

// Live upgrades while a server writes: every line reaches its log file
// once and the log at least once, in order, and the server never sees a
// broken pipe (it would exit and start counting again).
func TestOutputUpgrade(t *testing.T) {
	const n = 2000
	file := tempFile(t, "seq.log")
	s := begin(t, "{", "@seq", "--log-file="+file, selfBin, "helper", "count", "seq", strconv.Itoa(n), "1ms", "}")
	s.waitCaptured("seq", "stdout", 1)
	for i := 1; i <= 3; i++ {
		s.signal(unix.SIGHUP)
		s.waitLog(i, msg("respawn upgraded"))
	}
	if err := inOrder(s.waitCapturedUpTo("seq", "stdout", "seq", n), "seq", n); err != nil {
		t.Errorf("log: %v", err)
	}
	if err := counted(waitLines(t, file, n), "seq", n); err != nil {
		t.Errorf("file: %v", err)
	}
	if k := s.count(msg("ALIVE", "name", "seq")); k != 1 {
		t.Errorf("the server started %d times", k)
	}
	s.stop()
}

// --log-file rotates at --log-max: PATH, PATH.1 ... PATH.N, each under
// the size, the newest lines last, nothing older than PATH.N kept.
func TestOutputRotation(t *testing.T) {
	const n = 2000
	file := tempFile(t, "rot.log")
	s := begin(t, "{", "@rot", "--log-file="+file, "--log-max=4096", "--log-keep=2",
		selfBin, "helper", "count", "rot", strconv.Itoa(n), "}")
	eventually(t, "the last line in "+file, func() bool {
		l := lines(file)
		return len(l) > 0 && l[len(l)-1] == "rot "+strconv.Itoa(n-1)
	})
	var all []string
	for _, name := range []string{file + ".2", file + ".1", file} {
		st, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() > 4096 || st.Mode().Perm() != 0o640 {
			t.Errorf("%s: %d bytes, mode %v; want at most 4096, 0640", name, st.Size(), st.Mode().Perm())
		}
		all = append(all, lines(name)...)
	}
	if _, err := os.Stat(file + ".3"); err == nil {
		t.Errorf("%s.3 kept with --log-keep=2", file)
	}
	first, _ := strconv.Atoi(strings.Fields(all[0])[1])
	if err := counted(all, "rot", n-first); first < 1 || err == nil {
		for i, l := range all {
			if l != "rot "+strconv.Itoa(first+i) {
				t.Fatalf("rotated files: line %d is %q, want rot %d", i, l, first+i)
			}
		}
	}
	if len(all) != n-first {
		t.Errorf("%d lines in the files from rot %d, want %d", len(all), first, n-first)
	}
	s.stop()
}

// A server that forks and exits: its child, still writing into the pipes,
// is read and tagged with the server's name after the parent ended.
func TestOutputForkingServer(t *testing.T) {
	file := tempFile(t, "child")
	s := begin(t, "{", "@fork", selfBin, "helper", "forkwriter", file, "300", "}",
		"{", "@keep", selfBin, "helper", "sleep", "}")
	child := waitPidFile(t, file)
	s.waitLog(1, msg("CREMATED", "name", "fork"))
	if err := counted(s.waitCaptured("fork", "stdout", 300), "child", 300); err != nil {
		t.Error(err)
	}
	s.mu.Lock()
	last := -1
	for i, l := range s.logs {
		if l["msg"] == "CREMATED" && l["name"] == "fork" {
			last = i
		}
		if l["server"] == "fork" && l["line"] == "child 299" && last < 0 {
			t.Error("the child's last line came before the parent's end: nothing shown")
		}
	}
	s.mu.Unlock()
	unix.Kill(child, unix.SIGKILL)
	eventually(t, "the child reaped", func() bool { return !alive(child) })
	s.stop()
}

// A log file in a directory someone else owns, or a symlink planted at
// its path, is refused with a warning: respawn writes nowhere else, and
// the lines still reach the log.
func TestOutputLogFileRefused(t *testing.T) {
	other := filepath.Join(t.TempDir(), "other")
	if err := os.Mkdir(other, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(other, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	mine := t.TempDir()
	target := filepath.Join(mine, "target")
	if err := os.WriteFile(target, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(mine, "link.log")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	s := begin(t, "{", "@a", "--log-file="+filepath.Join(other, "a.log"), selfBin, "helper", "count", "a", "1", "}",
		"{", "@b", "--log-file="+link, selfBin, "helper", "count", "b", "1", "}")
	s.waitLog(1, msg("respawn: log file not written", "name", "a"))
	s.waitLog(1, msg("respawn: log file not written", "name", "b"))
	s.waitCaptured("a", "stdout", 1)
	s.waitCaptured("b", "stdout", 1)
	if _, err := os.Lstat(filepath.Join(other, "a.log")); err == nil {
		t.Error("a.log written in a directory another user owns")
	}
	if b, _ := os.ReadFile(target); len(b) != 0 {
		t.Errorf("written through the symlink: %q", b)
	}
	s.stop()
}

// With too few descriptors for every server's pipes, the servers that
// cannot have them inherit respawn's output, each with a warning; every
// server runs, and respawn does not fail.
func TestOutputNoRoom(t *testing.T) {
	const n = 8
	args := []string{"--nofile=90:90", respawnBin, "--log-format=json", "--control=none"}
	for i := range n {
		name := "n" + strconv.Itoa(i)
		args = append(args, "{", "@"+name, selfBin, "helper", "count", name, "1", "}")
	}
	s := launch(t, exec.Command("prlimit", args...))
	t.Cleanup(s.cleanup)
	guard(s)
	refused := 0
	for i := range n {
		name := "n" + strconv.Itoa(i)
		s.waitLog(1, msg("ALIVE", "name", name))
		eventually(t, name+"'s line", func() bool {
			return len(s.captured(name, "stdout")) == 1 || hasText(s, name+" 0")
		})
		if hasText(s, name+" 0") {
			refused++
		}
	}
	if w := s.count(msg("respawn: output not captured: the server inherits respawn's stdout and stderr")); refused == 0 || refused == n || w != refused {
		t.Errorf("%d of %d servers inherit, %d warnings: want some, not all, one warning each", refused, n, w)
	}
	s.stop()
}

func hasText(s *Sup, line string) bool {
	for _, l := range s.textLines() {
		if l == line {
			return true
		}
	}
	return false
}
