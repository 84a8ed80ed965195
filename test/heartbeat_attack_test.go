//go:build linux

package test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A registrant of another uid names a FIFO of its own through a
// directory symlink it swaps, between respawn's check of the FIFO and its
// open, for one that leads to a file it may not open (here root's FIFO,
// which a blocked writer shows opened; /dev/watchdog would be armed by
// the open). respawn, root, must never open what it did not check: it
// opened the path a second time, following the swapped symlink.
func TestHeartbeatFIFOSwappedAfterCheck(t *testing.T) {
	dir := heartbeatDir(t)
	s := begin(t, "--heartbeat-dir="+dir)
	s.waitLog(1, msg("ALIVE", "task", "heartbeat"))
	base, victim := swapBed(t)
	pid := spawnProc(t, "setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "sleep", "30").Process.Pid
	eventually(t, "the registrant runs as nobody", func() bool {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		return string(b) == "sleep\n"
	})
	opened := blockedWriter(t, victim)
	var stop atomic.Bool
	flipped := make(chan struct{})
	go func() {
		defer close(flipped)
		swapLoop(base, &stop)
	}()
	fifo := filepath.Join(base, "d", "fifo")
	deadline := time.Now().Add(4 * time.Second)
	n := 0
	for ; time.Now().Before(deadline) && !opened.Load(); n++ {
		nobodyRegistration(t, dir, pid, n, registration(fifo, "log"))
		time.Sleep(500 * time.Microsecond) // pacing only: the monitor reads a batch per wake
	}
	stop.Store(true)
	<-flipped
	if opened.Load() {
		t.Errorf("respawn opened root's FIFO %s after %d registrations naming %s (checked as nobody's)", victim, n, fifo)
	}
	if s.count(msg(fmt.Sprintf("heartbeat: registration completed for PID %d", pid))) != 0 {
		t.Errorf("pid %d registered, though it holds no FIFO open", pid)
	}
	s.stop()
}

// swapBed makes base (reachable by nobody) holding real/fifo, a FIFO of
// nobody's, and the symlink d to real; and root's directory with root's
// FIFO of the same name, returned.
func swapBed(t *testing.T) (base, victim string) {
	t.Helper()
	top := t.TempDir()
	for _, d := range []string{top, filepath.Dir(top)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	base, rootDir := filepath.Join(top, "u"), filepath.Join(top, "r")
	for _, d := range []string{base, filepath.Join(base, "real"), rootDir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	real := filepath.Join(base, "real", "fifo")
	victim = filepath.Join(rootDir, "fifo")
	for _, p := range []string{real, victim} {
		if err := unix.Mkfifo(p, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{base, filepath.Join(base, "real"), real} {
		if err := os.Lchown(p, 65534, 65534); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("real", filepath.Join(base, "d")); err != nil {
		t.Fatal(err)
	}
	return base, victim
}

// swapLoop points base/d at real and at root's directory in turn, each
// swap one rename, until stop.
func swapLoop(base string, stop *atomic.Bool) {
	targets := []string{"real", "../r"}
	d, tmp := filepath.Join(base, "d"), filepath.Join(base, "d.new")
	for i := 0; !stop.Load(); i++ {
		_ = os.Remove(tmp)
		if os.Symlink(targets[i%2], tmp) == nil {
			_ = os.Rename(tmp, d)
		}
	}
	_ = os.Remove(tmp)
}

// blockedWriter opens fifo for writing, which blocks until some process
// opens it for reading; the flag turns true when it did. The test's end
// opens the read side itself to let the writer go.
func blockedWriter(t *testing.T, fifo string) *atomic.Bool {
	t.Helper()
	var opened atomic.Bool
	var ours atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		fd, err := unix.Open(fifo, unix.O_WRONLY|unix.O_CLOEXEC, 0)
		if err == nil {
			unix.Close(fd)
		}
		if !ours.Load() && !errors.Is(err, unix.EINTR) {
			opened.Store(true)
		}
	}()
	t.Cleanup(func() {
		ours.Store(true)
		for {
			fd, err := unix.Open(fifo, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
			if err == nil {
				unix.Close(fd)
			}
			select {
			case <-done:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	})
	return &opened
}

// nobodyRegistration writes a registration file owned by nobody for pid,
// chowned before it is renamed in, as nobody's own client would leave it.
func nobodyRegistration(t *testing.T, dir string, pid, n int, body string) {
	t.Helper()
	name := fmt.Sprintf(".phm_%d_s%06d", pid, n)
	tmp := filepath.Join(dir, "tmp"+name)
	if err := os.WriteFile(tmp, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(tmp, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

// A registrant whose children (four dd) write to its FIFO as fast as they
// can: the monitor reads its beats while holding its lock, and the info
// dump and a live upgrade take that lock on the event loop; they must
// still be answered, and the flood counts as beats.
func TestHeartbeatFloodingRegistrant(t *testing.T) {
	dir := heartbeatDir(t)
	s := begin(t, "--heartbeat-dir="+dir, "{", "@quiet", "sleep", "600", "}")
	s.waitLog(1, msg("ALIVE", "task", "heartbeat"))
	fifo := makeFIFO(t, t.TempDir())
	cmd := exec.Command("sh", "-c", `exec 3<>"$0"; read go
		for i in 1 2 3 4; do dd if=/dev/zero bs=65536 status=none >&3 & done; wait`, fifo)
	start, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	eventually(t, "sh holds the fifo", func() bool {
		link, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/3", pid))
		return link == fifo
	})
	writeRegistration(t, dir, pid, registration(fifo, "log"))
	registered(s, pid)
	if _, err := start.Write([]byte("go\n")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "dd beats, and the dump is answered", func() bool {
		r := registrants(heartbeatSection(t, s))[pid]
		return r != nil && r["beats"].(float64) >= 3
	})
	s.upgrade(1)
	heartbeatSection(t, s)
	for _, dd := range children(pid) {
		killWait(t, dd)
	}
	killWait(t, pid)
	s.stop()
}
