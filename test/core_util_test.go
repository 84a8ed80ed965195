//go:build linux

package test

import (
	"bytes"
	"errors"
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

// A helper server built with -race sleeps a second before it exits (the
// race runtime's atexit_sleep_ms); its servers need not.
func init() {
	if !strings.Contains(os.Getenv("GORACE"), "atexit_sleep_ms") {
		os.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	}
}

// runUsage runs respawn with args to its end and returns its exit status,
// stdout and stderr. It is for command lines that must not start anything.
func runUsage(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(respawnBin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		_ = unix.Kill(cmd.Process.Pid, unix.SIGKILL)
		<-done
		t.Fatalf("respawn %q did not exit", args)
	}
	return cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()
}

// begin is start without a control socket (the core alone), and with a
// guard against a test that ends early with respawn still running.
func begin(t *testing.T, args ...string) *Sup {
	t.Helper()
	s := start(t, append([]string{"--control=none"}, args...)...)
	guard(s)
	return s
}

// beginText is begin with respawn's default text logs: every line it
// writes lands in Sup.text.
func beginText(t *testing.T, args ...string) *Sup {
	t.Helper()
	s := launch(t, exec.Command(respawnBin, append([]string{"--control=none"}, args...)...))
	t.Cleanup(s.cleanup)
	guard(s)
	return s
}

// guard runs before the harness's cleanup of s: if respawn is still
// running (a test that failed half-way), it stops respawn with SIGTERM,
// then kills by pid whatever is left of it and its servers, so that the
// cleanup, which reads respawn's output to its end, is not kept waiting by
// a server that still holds that output open.
func guard(s *Sup) {
	s.t.Cleanup(func() {
		if s.exited() {
			return
		}
		if !s.t.Failed() {
			s.t.Errorf("respawn (pid %d) still running at the end of the test", s.Pid)
		}
		_ = unix.Kill(s.Pid, unix.SIGTERM)
		select {
		case <-s.done:
			return
		case <-time.After(5 * time.Second):
		}
		for _, pid := range descendants(s.Pid) {
			_ = unix.Kill(pid, unix.SIGKILL)
		}
		_ = unix.Kill(s.Pid, unix.SIGKILL)
	})
}

// descendants lists every process under pid, children first.
func descendants(pid int) []int {
	var out []int
	for _, k := range children(pid) {
		out = append(out, k)
		out = append(out, descendants(k)...)
	}
	return out
}

// waitExitedOnly waits until respawn has exited (it is a zombie child of
// the test) while its output may still be held open by servers it left
// running.
func waitExitedOnly(t *testing.T, s *Sup) {
	t.Helper()
	eventually(t, "respawn exited", func() bool {
		_, st := procStat(s.Pid)
		return st == 'Z' || s.exited()
	})
}

// launchPID1 starts respawn with args as PID 1 of a new pid namespace
// (unshare, as a container's runtime would) and returns it with its pid
// outside the namespace. The cleanup kills that pid, which ends the whole
// namespace, and checks that nothing is left.
func launchPID1(t *testing.T, args ...string) (s *Sup, init int) {
	t.Helper()
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Fatal("unshare (util-linux) is needed:", err)
	}
	s = launch(t, exec.Command(unshare, append([]string{"--fork", "--pid", "--mount-proc", respawnBin}, args...)...))
	t.Cleanup(func() {
		if !s.exited() {
			if init > 0 {
				_ = unix.Kill(init, unix.SIGKILL) // the kernel kills the rest of the namespace
			}
			_ = unix.Kill(s.Pid, unix.SIGKILL)
			<-s.done
		}
		checkNoChildren(t)
		if t.Failed() {
			s.dumpLogs()
		}
	})
	eventually(t, "respawn under unshare", func() bool {
		if kids := children(s.Pid); len(kids) == 1 {
			init = kids[0]
		}
		return init > 0
	})
	return s, init
}

// launch starts cmd (a respawn, or something that runs one) with its
// stdout and stderr read into a Sup. The caller registers the cleanup.
func launch(t *testing.T, cmd *exec.Cmd) *Sup {
	t.Helper()
	s := &Sup{t: t, cmd: cmd, done: make(chan struct{})}
	s.cond = sync.NewCond(&s.mu)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = cmd.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.Pid = cmd.Process.Pid
	go s.read(stderr)
	return s
}

// tempFile is a path in a fresh directory of the test's own.
func tempFile(t *testing.T, name string) string {
	return filepath.Join(t.TempDir(), name)
}

// lines returns the lines of file, or nil if it does not exist yet.
func lines(file string) []string {
	b, err := os.ReadFile(file)
	if err != nil || len(b) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// waitLines waits until file holds at least n lines and returns them.
func waitLines(t *testing.T, file string, n int) []string {
	t.Helper()
	var l []string
	eventually(t, file+" has "+strconv.Itoa(n)+" lines", func() bool { l = lines(file); return len(l) >= n })
	return l
}

// waitPidFile waits for the first line of file to be a pid.
func waitPidFile(t *testing.T, file string) int {
	t.Helper()
	pid, err := strconv.Atoi(strings.Fields(waitLines(t, file, 1)[0])[0])
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return pid
}

// gone reports whether no process, not even a zombie, has pid.
func gone(pid int) bool {
	_, err := os.Stat("/proc/" + strconv.Itoa(pid))
	return errors.Is(err, os.ErrNotExist)
}

// attr returns a numeric attribute of a log line, or -1.
func attr(l map[string]any, key string) int {
	if f, ok := l[key].(float64); ok {
		return int(f)
	}
	return -1
}

// killWait kills pid with SIGKILL and, if it is a child of the test
// process, reaps it.
func killWait(t *testing.T, pid int) {
	t.Helper()
	_ = unix.Kill(pid, unix.SIGKILL)
	if ppid, _ := procStat(pid); ppid == os.Getpid() {
		var ws unix.WaitStatus
		_, _ = unix.Wait4(pid, &ws, 0, nil)
	}
}

// helperCmd is the command line, as respawn logs it, of "selfBin helper
// ARGS...", for paths and arguments that need no quoting.
func helperCmd(args ...string) string {
	return strings.Join(append([]string{selfBin, "helper"}, args...), " ")
}
