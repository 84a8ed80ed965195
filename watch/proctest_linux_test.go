//go:build linux

package watch

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// TestHelperReadProc is not a test: run as the test binary with
// WATCH_TEST_READPROC=PID (as another user), it prints ReadProc(PID) as
// JSON and exits. Run as a test, it returns at once.
func TestHelperReadProc(t *testing.T) {
	pid, err := strconv.Atoi(os.Getenv("WATCH_TEST_READPROC"))
	if err != nil {
		return
	}
	p, err := ReadProc(pid)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	_ = json.NewEncoder(os.Stdout).Encode(p)
	os.Exit(0)
}

// started is a process a test started, ended by pid when the test ends.
type started struct {
	cmd   *exec.Cmd
	stdin *os.File // the write end of its stdin, held open
}

func (p *started) pid() int { return p.cmd.Process.Pid }

// end kills the process by its pid and reaps it; a second call does
// nothing.
func (p *started) end() {
	if p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	_ = p.cmd.Wait()
	if p.stdin != nil {
		p.stdin.Close()
	}
}

// pause runs sh, the file at exe (a copy of /bin/sh, or /bin/sh), as a
// process that waits to be killed: "sh -c 'read x'" with argv[0] and
// args after, reading a pipe nobody writes. Its command line is
// [argv0 -c "read x" args...].
func pause(t *testing.T, exe, argv0, dir string, args []string, env ...string) *started {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd := &exec.Cmd{Path: exe, Args: append([]string{argv0, "-c", "read x"}, args...), Dir: dir, Env: env, Stdin: r}
	p := start(t, cmd)
	p.stdin = w
	return p
}

// start runs cmd, waits until its execve is done, and ends it (SIGKILL,
// then wait) when the test ends. Start returns before the kernel has laid
// out the new image's arguments: it wakes the parent when the old memory
// is let go, and /proc/PID/cmdline is empty until the arguments are in
// (TestIntegrationReadProcMidExec).
func start(t *testing.T, cmd *exec.Cmd) *started {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &started{cmd: cmd}
	t.Cleanup(func() { p.end() })
	path := "/proc/" + strconv.Itoa(p.pid()) + "/cmdline"
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if b, _ := os.ReadFile(path); len(b) > 0 {
			return p
		}
	}
	t.Fatalf("pid %d: no command line after 5s", p.pid())
	return nil
}

// sh is the file /bin/sh names.
func sh(t *testing.T) string {
	t.Helper()
	p, err := filepath.EvalSymlinks("/bin/sh")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// copyExe copies the file at src to dir/name, executable by anyone.
func copyExe(t *testing.T, src, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, name)
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return dst
}

// publicDir is a temporary directory that every user may enter (the
// parent of t.TempDir's is private).
func publicDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "watch-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// waitZombie waits until pid is a zombie, for a few seconds.
func waitZombie(t *testing.T, pid int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if st, err := readStat(pid); err == nil && zombie(st.state) {
			return
		}
	}
	t.Fatalf("pid %d did not become a zombie", pid)
}
