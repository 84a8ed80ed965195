//go:build linux

package heartbeat

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// logBuf is a log the monitor writes and the test reads.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// wait polls the log for a line holding every one of subs.
func (l *logBuf) wait(t *testing.T, subs ...string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if line := l.find(subs...); line != "" {
			return line
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no log line with %q in:\n%s", subs, l.String())
	return ""
}

func (l *logBuf) find(subs ...string) string {
next:
	for _, line := range strings.Split(l.String(), "\n") {
		for _, s := range subs {
			if !strings.Contains(line, s) {
				continue next
			}
		}
		return line
	}
	return ""
}

// monitor runs a monitor on a new directory until the test ends.
func monitor(t *testing.T) (*Monitor, string, *logBuf) {
	t.Helper()
	dir := t.TempDir()
	return monitorOn(t, dir, Handover{}), dir, nil
}

func monitorOn(t *testing.T, dir string, adopt Handover) *Monitor {
	t.Helper()
	m, err := New(Config{Dir: dir, Log: slog.New(slog.NewTextHandler(logs(t), &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	m.Adopt(adopt)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return m
}

var testLogs sync.Map // *testing.T -> *logBuf

func logs(t *testing.T) *logBuf {
	l, _ := testLogs.LoadOrStore(t, &logBuf{})
	return l.(*logBuf)
}

// spawn starts a process, killed and waited for when the test ends.
func spawn(t *testing.T, cmd *exec.Cmd) *exec.Cmd {
	t.Helper()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd
}

// shellClient runs dist/heartbeat/client.sh.
func shellClient(t *testing.T, dir, name string, ms, misses int, action string, beats int) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("bash", "../dist/heartbeat/client.sh", dir, name, strconv.Itoa(ms),
		strconv.Itoa(misses), action, strconv.Itoa(beats))
	cmd.Env = append(os.Environ(), "TMPDIR="+t.TempDir()) // its FIFO
	return spawn(t, cmd)
}

// holder is a process that holds fifo open for reading and writing.
func holder(t *testing.T, fifo string, as ...string) *exec.Cmd {
	t.Helper()
	args := append(as, "sh", "-c", `exec 3<>"$0"; exec sleep 30`, fifo)
	return spawn(t, exec.Command(args[0], args[1:]...))
}

func mkfifo(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "beat.fifo")
	if err := unix.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// waitWriter waits until pid holds fifo open (its sh has run the exec).
func waitWriter(t *testing.T, pid int, fifo string) {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(fifo, &st); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if processFIFOs(pid, map[fileKey]bool{{dev: st.Dev, ino: st.Ino}: true}) != nil {
			if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); string(b) == "sleep\n" {
				return
			}
		}
	}
	t.Fatalf("pid %d never held %s open", pid, fifo)
}

func regBody(fifo, action string) string {
	return fmt.Sprintf("fifo=%s\nperiod=100ms\nmisses=2\naction=%s\nname=t\n", fifo, action)
}

func writeReg(t *testing.T, dir string, pid int, body string) string {
	t.Helper()
	name := fmt.Sprintf(".phm_%d_%s", pid, "x"+strconv.Itoa(int(time.Now().UnixNano()%1e6)))
	tmp := filepath.Join(dir, "tmp."+name)
	if err := os.WriteFile(tmp, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
	return name
}

func exists(dir, name string) bool {
	_, err := os.Lstat(filepath.Join(dir, name))
	return err == nil
}

func TestIntegrationShellClientBeats(t *testing.T) {
	m, dir, _ := monitor(t)
	l := logs(t)
	c := shellClient(t, dir, "sh-web", 100, 2, "kill", -1)
	l.wait(t, fmt.Sprintf("registration completed for PID %d", c.Process.Pid), "name=sh-web", "action=kill")
	waitBeats(t, m, c.Process.Pid, 5)
	if line := l.find("deadline missed"); line != "" {
		t.Fatalf("a beating client missed: %s", line)
	}
}

// waitBeats waits until pid's beats reach n.
func waitBeats(t *testing.T, m *Monitor, pid int, n uint64) RegistrantStats {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for _, r := range m.Stats().Registrants {
			if r.Pid == pid && r.Beats >= n {
				return r
			}
		}
	}
	t.Fatalf("pid %d: fewer than %d beats: %+v", pid, n, m.Stats())
	return RegistrantStats{}
}

func TestIntegrationGoClientBeats(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "client")
	if out, err := exec.Command("go", "build", "-o", bin, "../dist/heartbeat/client").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	m, dir, _ := monitor(t)
	c := exec.Command(bin, "-dir", dir, "-name", "go-web", "-period", "50ms", "-action", "log")
	c.Env = append(os.Environ(), "TMPDIR="+t.TempDir())
	spawn(t, c)
	logs(t).wait(t, fmt.Sprintf("registration completed for PID %d", c.Process.Pid), "name=go-web", "period=50ms")
	waitBeats(t, m, c.Process.Pid, 5)
	_ = c.Process.Signal(syscall.SIGTERM) // removes its file, and exits: unregistered by either
	logs(t).wait(t, "unregistered", fmt.Sprintf("pid=%d", c.Process.Pid))
	if err := c.Wait(); err != nil {
		t.Errorf("the client ended with %v", err)
	}
	if files, _ := filepath.Glob(filepath.Join(dir, ".phm_*")); len(files) != 0 {
		t.Errorf("registration left: %v", files)
	}
}

func TestIntegrationMissKills(t *testing.T) {
	_, dir, _ := monitor(t)
	l := logs(t)
	c := shellClient(t, dir, "quiet", 100, 1, "kill", 3)
	pid := c.Process.Pid
	line := l.wait(t, "deadline missed", fmt.Sprintf("pid=%d", pid), "action=kill")
	if !strings.Contains(line, "late=") {
		t.Errorf("no lateness in %q", line)
	}
	err := c.Wait()
	if ws, ok := c.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the client ended with %v, want SIGKILL", err)
	}
	l.wait(t, "registrant exited, unregistered", fmt.Sprintf("pid=%d", pid))
	if files, _ := filepath.Glob(filepath.Join(dir, fmt.Sprintf(".phm_%d_*", pid))); len(files) != 0 {
		t.Fatalf("registration left: %v", files)
	}
}

func TestIntegrationMissLogsOnce(t *testing.T) {
	m, dir, _ := monitor(t)
	c := shellClient(t, dir, "quiet", 100, 1, "log", 2)
	logs(t).wait(t, "deadline missed", fmt.Sprintf("pid=%d", c.Process.Pid), "action=log")
	time.Sleep(600 * time.Millisecond) // three more deadlines without a beat: no second action
	if n := strings.Count(logs(t).String(), "deadline missed"); n != 1 {
		t.Fatalf("%d misses logged, want 1:\n%s", n, logs(t))
	}
	if st := m.Stats(); st.Missed != 1 || len(st.Registrants) != 1 || !st.Registrants[0].Late {
		t.Fatalf("stats %+v", st)
	}
}

// A registrant that never beats gets its action at its deadline, though
// nothing else wakes the poller (it was waiting with no deadline at all).
func TestIntegrationSilentFromTheStart(t *testing.T) {
	m, dir, _ := monitor(t)
	fifo := mkfifo(t, t.TempDir())
	h := holder(t, fifo)
	waitWriter(t, h.Process.Pid, fifo)
	writeReg(t, dir, h.Process.Pid, regBody(fifo, "log"))
	logs(t).wait(t, "deadline missed", fmt.Sprintf("pid=%d", h.Process.Pid), "action=log")
	if st := m.Stats(); st.Missed != 1 || st.Beats != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestIntegrationForged: registrations that do not authenticate are
// refused and renamed, never deleted, and never registered.
func TestIntegrationForged(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, dir, fifo string) (pid int, file string)
		log   string
	}{
		{"pid of another uid", func(t *testing.T, dir, fifo string) (int, string) {
			for _, p := range []string{filepath.Dir(filepath.Dir(fifo)), filepath.Dir(fifo), fifo} {
				if err := os.Chmod(p, 0o777); err != nil { // nobody opens it
					t.Fatal(err)
				}
			}
			h := holder(t, fifo, "setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups")
			waitWriter(t, h.Process.Pid, fifo)
			return h.Process.Pid, writeReg(t, dir, h.Process.Pid, regBody(fifo, "kill"))
		}, "process %d not authenticated"},
		{"fifo not opened by the pid", func(t *testing.T, dir, fifo string) (int, string) {
			s := spawn(t, exec.Command("sleep", "30"))
			return s.Process.Pid, writeReg(t, dir, s.Process.Pid, regBody(fifo, "kill"))
		}, "process %d not authenticated"},
		{"fifo opened by another pid too", func(t *testing.T, dir, fifo string) (int, string) {
			a, b := holder(t, fifo), holder(t, fifo)
			waitWriter(t, a.Process.Pid, fifo)
			waitWriter(t, b.Process.Pid, fifo)
			return a.Process.Pid, writeReg(t, dir, a.Process.Pid, regBody(fifo, "kill"))
		}, "process %d not authenticated"},
		{"registration file a symlink", func(t *testing.T, dir, fifo string) (int, string) {
			h := holder(t, fifo)
			waitWriter(t, h.Process.Pid, fifo)
			target := filepath.Join(t.TempDir(), "reg")
			if err := os.WriteFile(target, []byte(regBody(fifo, "kill")), 0o600); err != nil {
				t.Fatal(err)
			}
			name := fmt.Sprintf(".phm_%d_link", h.Process.Pid)
			if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
			return h.Process.Pid, name
		}, "registration file invalid for PID %d"},
		{"fifo a symlink", func(t *testing.T, dir, fifo string) (int, string) {
			h := holder(t, fifo)
			waitWriter(t, h.Process.Pid, fifo)
			link := filepath.Join(t.TempDir(), "link")
			if err := os.Symlink(fifo, link); err != nil {
				t.Fatal(err)
			}
			return h.Process.Pid, writeReg(t, dir, h.Process.Pid, regBody(link, "kill"))
		}, "process %d not authenticated"},
		{"pid that does not exist", func(t *testing.T, dir, fifo string) (int, string) {
			return MaxPid, writeReg(t, dir, MaxPid, regBody(fifo, "kill"))
		}, "process %d not authenticated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, dir, _ := monitor(t)
			pid, file := tt.setup(t, dir, mkfifo(t, t.TempDir()))
			logs(t).wait(t, fmt.Sprintf(tt.log, pid))
			logs(t).wait(t, fmt.Sprintf("renaming invalid registration file for PID %d", pid))
			if exists(dir, file) || !exists(dir, InvalidPrefix+file) {
				t.Fatalf("%s not renamed to %s%s", file, InvalidPrefix, file)
			}
			if st := m.Stats(); len(st.Registrants) != 0 || st.Refused != 1 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

// TestIntegrationHalfWritten: a file read while half written is read
// again once; one still broken then is renamed.
func TestIntegrationHalfWritten(t *testing.T) {
	_, dir, _ := monitor(t)
	fifo := mkfifo(t, t.TempDir())
	h := holder(t, fifo)
	pid := h.Process.Pid
	waitWriter(t, pid, fifo)
	body := regBody(fifo, "log")
	name := fmt.Sprintf(".phm_%d_half", pid)
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(body[:20]); err != nil {
		t.Fatal(err)
	}
	logs(t).wait(t, "tried again once", name) // the scan found it
	if _, err := f.WriteString(body[20:]); err != nil {
		t.Fatal(err)
	}
	f.Close() // IN_CLOSE_WRITE
	logs(t).wait(t, fmt.Sprintf("registration completed for PID %d", pid))

	h2 := holder(t, fifo)
	broken := writeReg(t, dir, h2.Process.Pid, "fifo="+fifo+"\nperiod=")
	logs(t).wait(t, fmt.Sprintf("registration file invalid for PID %d", h2.Process.Pid))
	if !exists(dir, InvalidPrefix+broken) {
		t.Fatalf("%s not renamed", broken)
	}
	if n := strings.Count(logs(t).String(), "tried again once"); n != 2 {
		t.Fatalf("%d retries logged, want 2 (one per file)", n)
	}
}

func TestIntegrationDuplicate(t *testing.T) {
	m, dir, _ := monitor(t)
	fifo := mkfifo(t, t.TempDir())
	h := holder(t, fifo)
	pid := h.Process.Pid
	waitWriter(t, pid, fifo)
	first := writeReg(t, dir, pid, regBody(fifo, "log"))
	logs(t).wait(t, fmt.Sprintf("registration completed for PID %d", pid))
	second := writeReg(t, dir, pid, regBody(fifo, "kill"))
	logs(t).wait(t, fmt.Sprintf("duplicate registration for PID %d", pid))
	logs(t).wait(t, fmt.Sprintf("renaming invalid registration file for PID %d", pid))
	if !exists(dir, first) || !exists(dir, InvalidPrefix+second) {
		t.Fatalf("want %s kept and %s renamed", first, second)
	}
	if st := m.Stats(); len(st.Registrants) != 1 || st.Registrants[0].Action != ActionLog {
		t.Fatalf("stats %+v", st)
	}
}

// TestIntegrationDirRefused: a directory others may write to without the
// sticky bit, or a symlink, is refused.
func TestIntegrationDirRefused(t *testing.T) {
	open := t.TempDir()
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "link")
	sticky := t.TempDir()
	if err := os.Symlink(sticky, link); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(sticky, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, dir string
		ok        bool
	}{{"writable by others", open, false}, {"symlink", link, false}, {"sticky", sticky, true}} {
		t.Run(tt.name, func(t *testing.T) {
			f, err := OpenDir(tt.dir)
			if (err == nil) != tt.ok {
				t.Fatalf("OpenDir(%s): %v", tt.dir, err)
			}
			if f != nil {
				f.Close()
			}
		})
	}
}

// TestIntegrationFreezeAdopt hands the registrants of one monitor to
// another, as a live upgrade does: they beat on, with no miss.
func TestIntegrationFreezeAdopt(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	old, err := New(Config{Dir: dir, Log: slog.New(slog.NewTextHandler(logs(t), nil))})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- old.Run(ctx) }()
	c := shellClient(t, dir, "up", 50, 1, "kill", -1)
	waitBeats(t, old, c.Process.Pid, 3)
	kept := old.Freeze()
	if len(kept.Registrants) != 1 || kept.Registrants[0].Pid != c.Process.Pid || kept.Beats < 3 {
		t.Fatalf("kept %+v", kept)
	}
	// The old monitor's descriptors stay with the registrant handed over.
	old.mu.Lock()
	old.st.byPid, old.st.byFile, old.st.byFD = map[int]*registrant{}, map[string]*registrant{}, map[int]*registrant{}
	old.mu.Unlock()
	old.Thaw()
	cancel()
	<-done
	time.Sleep(200 * time.Millisecond) // past the deadline: the beats written meanwhile wait in the FIFO
	m := monitorOn(t, dir, kept)
	logs(t).wait(t, "registrant taken over", fmt.Sprintf("pid=%d", c.Process.Pid))
	st := m.Stats()
	if st.Beats < 3 || st.Registered != 1 {
		t.Fatalf("counters not carried: %+v", st)
	}
	waitBeats(t, m, c.Process.Pid, st.Registrants[0].Beats+5)
	if line := logs(t).find("deadline missed"); line != "" {
		t.Fatalf("a miss across the handover: %s", line)
	}
}
