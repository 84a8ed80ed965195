//go:build linux

package test

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// bare is a respawn whose output the test does not read through a Sup.
type bare struct {
	t    *testing.T
	cmd  *exec.Cmd
	Pid  int
	done chan struct{}
}

// startBare starts cmd in its own process group and, at cleanup, makes
// sure it and whatever it started are gone.
func startBare(t *testing.T, cmd *exec.Cmd) *bare {
	t.Helper()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	b := &bare{t: t, cmd: cmd, Pid: cmd.Process.Pid, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(b.done) }()
	t.Cleanup(func() {
		select {
		case <-b.done:
		default:
			t.Errorf("respawn (pid %d) still running at the end of the test", b.Pid)
			for _, pid := range descendants(b.Pid) {
				_ = unix.Kill(pid, unix.SIGKILL)
			}
			_ = cmd.Process.Kill()
			<-b.done
		}
		checkNoChildren(t)
	})
	return b
}

// stopWithin sends SIGTERM and wants respawn to exit within d.
func (b *bare) stopWithin(d time.Duration) {
	b.t.Helper()
	_ = b.cmd.Process.Signal(unix.SIGTERM)
	select {
	case <-b.done:
	case <-time.After(d):
		b.t.Fatalf("respawn did not stop within %v of SIGTERM", d)
	}
}

// listAnswers reports whether `respawnctl list` answers within 10 s.
func listAnswers(t *testing.T, sock string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, respawnctlBin, "--socket", sock, "list")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Logf("respawnctl list: %v: %s", err, firstLines(string(out), 3))
	}
	return err == nil
}

func firstLines(s string, n int) string {
	l := strings.SplitN(s, "\n", n+1)
	return strings.Join(l[:min(n, len(l))], "\n")
}

// childrenRunning lists pid's children whose command line contains sub.
func childrenRunning(pid int, sub string) []int {
	var out []int
	for _, k := range children(pid) {
		if alive(k) && strings.Contains(cmdline(k), sub) {
			out = append(out, k)
		}
	}
	return out
}

// inPipeWrite reports whether a thread of pid waits in pipe_write.
func inPipeWrite(pid int) bool {
	tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/wchan")
	for _, f := range tasks {
		if b, _ := os.ReadFile(f); strings.HasSuffix(string(b), "pipe_write") {
			return true
		}
	}
	return false
}

// pollEvery is eventually, polling every d: for conditions that cost a
// scan of /proc.
func pollEvery(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for: %s", what)
		}
		time.Sleep(d)
	}
}

// childPids lists pid's children (zombies too) from the children file of
// each of its threads: a few reads, where a scan of /proc would be
// thousands.
func childPids(pid int) []int {
	files, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/children")
	var out []int
	for _, f := range files {
		b, _ := os.ReadFile(f)
		for _, w := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(w); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

// vmRSS is pid's resident set size in KiB, from /proc/PID/status.
func vmRSS(pid int) int {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	return -1
}

// A log reader that stops reading (respawn ... 2>&1 | sleep 30) does not
// stall supervision: with its output pipe full, respawn still reaps and
// respawns a killed server, answers the control socket, and stops
// promptly on SIGTERM. (Before, the loop sat in pipe_write.)
func TestStalledLogReader(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	sock := filepath.Join(t.TempDir(), "ctl.sock")
	cmd := exec.Command(respawnBin, "--control="+sock, "--interval=1ms",
		"{", "@loop", "sh", "-c", "sleep 0.005; exit 1", "}",
		"{", "@long", selfBin, "helper", "sleep", "}")
	cmd.Stdout, cmd.Stderr = w, w
	b := startBare(t, cmd)
	w.Close()
	var long []int
	eventually(t, "the long server runs", func() bool { long = childrenRunning(b.Pid, "helper sleep"); return len(long) == 1 })
	eventually(t, "respawn's output pipe is full", func() bool {
		_ = b.cmd.Process.Signal(unix.SIGUSR1) // a dump a turn fills it soon
		return inPipeWrite(b.Pid)
	})
	_ = unix.Kill(long[0], unix.SIGKILL)
	eventually(t, "the killed server reaped and respawned", func() bool {
		now := childrenRunning(b.Pid, "helper sleep")
		return gone(long[0]) && len(now) == 1 && now[0] != long[0]
	})
	if !listAnswers(t, sock) {
		t.Error("respawnctl list did not answer with the log reader stalled")
	}
	b.stopWithin(10 * time.Second)
	go io.Copy(io.Discard, r) // let what servers are left write and go
}

// Crash-loopers (servers that die soon after each start) cost bounded
// CPU and memory and never keep respawn from answering or stopping,
// whatever --interval is. (Before, the reaper never returned: RSS grew
// without bound, the control socket answered busy, SIGTERM was ignored.)
func TestCrashLoopStorm(t *testing.T) {
	tests := []struct {
		name     string
		interval string
		n        int
		argv     []string
	}{
		{"300 dying after 110 ms, interval 100 ms", "100ms", 300, []string{"sh", "-c", "sleep 0.11; exit 1"}},
		{"10 false, interval 1 ns", "1ns", 10, []string{"false"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sock := filepath.Join(t.TempDir(), "ctl.sock")
			args := []string{"--control=" + sock, "--interval=" + tt.interval}
			for i := 0; i < tt.n; i++ {
				args = append(append(append(args, "{"), tt.argv...), "}")
			}
			cmd := exec.Command(respawnBin, args...)
			b := startBare(t, cmd) // output to /dev/null: the load is the loop's own
			eventually(t, "the control socket is served", func() bool { _, err := os.Stat(sock); return err == nil })
			deadline := time.Now().Add(3 * time.Second)
			for time.Now().Before(deadline) {
				if !listAnswers(t, sock) {
					t.Fatal("respawnctl list did not answer during the storm")
				}
				if rss := vmRSS(b.Pid); rss > 100<<10 {
					t.Fatalf("respawn's RSS is %d KiB during the storm", rss)
				}
				time.Sleep(200 * time.Millisecond)
			}
			b.stopWithin(20 * time.Second)
		})
	}
}

// A flood of SIGUSR1 (one every 50-100 µs) loses no other signal: a
// server killed meanwhile is reaped and respawned, not left a zombie,
// and a SIGTERM sent mid-flood stops respawn. (Before, the single signal
// queue overflowed and dropped SIGCHLD and SIGTERM.)
func TestSignalFlood(t *testing.T) {
	const servers = 1000
	args := []string{"--control=none", "--interval=1ns"}
	for i := 0; i < servers; i++ {
		args = append(args, "{", "sleep", "1000", "}")
	}
	for round := 1; round <= 3; round++ {
		cmd := exec.Command(respawnBin, args...)
		out, err := cmd.StderrPipe() // a reader that reads, as | logger does
		if err != nil {
			t.Fatal(err)
		}
		go io.Copy(io.Discard, out)
		b := startBare(t, cmd)
		pollEvery(t, 100*time.Millisecond, "every server runs", func() bool { return len(childPids(b.Pid)) == servers })
		stop := make(chan struct{})
		flooded := make(chan struct{})
		go func() {
			defer close(flooded)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if b.cmd.Process.Signal(unix.SIGUSR1) != nil {
					return // exited
				}
				// Spin: a sleep this short would last far longer.
				for t0 := time.Now(); time.Since(t0) < time.Duration(50+i%50)*time.Microsecond; {
				}
			}
		}()
		time.Sleep(200 * time.Millisecond) // the flood under way
		victim := childPids(b.Pid)[round]
		_ = unix.Kill(victim, unix.SIGKILL)
		pollEvery(t, 50*time.Millisecond, "the killed server reaped and respawned", func() bool {
			return gone(victim) && len(childPids(b.Pid)) == servers
		})
		b.stopWithin(20 * time.Second)
		close(stop)
		<-flooded
		if t.Failed() {
			return
		}
	}
}
