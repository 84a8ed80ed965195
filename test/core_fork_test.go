//go:build linux

package test

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

const nobody = 65534

// tasksOf counts the threads of every process whose real uid is uid: what
// RLIMIT_NPROC counts against that user.
func tasksOf(uid int) int {
	ents, _ := os.ReadDir("/proc")
	n := 0
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		f, err := os.Open("/proc/" + e.Name() + "/status")
		if err != nil {
			continue
		}
		var real, threads int
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "Uid:"); ok {
				real, _ = strconv.Atoi(strings.Fields(v)[0])
			}
			if v, ok := strings.CutPrefix(sc.Text(), "Threads:"); ok {
				threads, _ = strconv.Atoi(strings.TrimSpace(v))
			}
		}
		f.Close()
		if real == uid {
			n += threads
		}
	}
	return n
}

// binaryFor copies respawn where uid nobody can run it.
func binaryFor(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "respawn-nproc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(respawnBin)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	bin := filepath.Join(dir, "respawn")
	out, err := os.OpenFile(bin, os.O_WRONLY|os.O_CREATE, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	out.Close()
	return bin
}

// A fork refused for want of processes (EAGAIN under RLIMIT_NPROC) does
// not bury the server: it stays DEAD and is tried again until the fork
// succeeds. (Before, it was BURIED until someone revived it.) RLIMIT_NPROC
// does not apply to root, so respawn runs as nobody, and the test holds
// the user's process count at the limit with sleeps of its own.
func TestForkFailureRetries(t *testing.T) {
	const limit = 64
	cmd := exec.Command("setpriv", fmt.Sprintf("--reuid=%d", nobody), fmt.Sprintf("--regid=%d", nobody), "--clear-groups",
		"prlimit", fmt.Sprintf("--nproc=%d:%d", limit, limit), "--",
		binaryFor(t), "--log-format=json", "--control=none", "--interval=1ns", "{", "sleep", "1000", "}")
	cmd.Dir = "/"
	s := launch(t, cmd)
	t.Cleanup(s.cleanup)
	guard(s)
	s.waitLog(1, msg("ALIVE", "server", 1))
	var fillers []*exec.Cmd
	t.Cleanup(func() { release(fillers) })
	for n := tasksOf(nobody); n <= limit; n++ {
		f := exec.Command("sleep", "1000")
		f.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
		if err := f.Start(); err != nil {
			t.Fatal(err)
		}
		fillers = append(fillers, f)
	}
	_ = unix.Kill(s.pidOf(1), unix.SIGKILL)
	refused := func(l map[string]any) bool {
		return l["msg"] == "DEAD" && l["server"] == float64(1) && strings.Contains(fmt.Sprint(l["error"]), "resource temporarily unavailable")
	}
	s.waitLog(2, refused) // tried again, refused again
	release(fillers)
	fillers = nil
	s.waitLog(2, msg("ALIVE", "server", 1))
	if n := s.count(msg("BURIED")); n != 0 {
		t.Errorf("%d BURIED lines: a refused fork buried the server", n)
	}
	s.stop()
}

// release kills and reaps the fillers.
func release(fillers []*exec.Cmd) {
	for _, f := range fillers {
		_ = f.Process.Kill()
		_ = f.Wait()
	}
}
