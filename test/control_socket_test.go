//go:build linux

package test

import (
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"respawn/control"
)

// The socket appears with mode 0600 in place of a stale one, a live one is
// never taken over (the second respawn exits 2 with one line, starting
// nothing), and the socket file goes when respawn exits.
func TestControlSocketLifecycle(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "run", "ctl.sock")
	if err := os.MkdirAll(filepath.Dir(sock), 0o700); err != nil {
		t.Fatal(err)
	}
	old, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	old.SetUnlinkOnClose(false)
	old.Close() // a supervisor that died and left its socket

	s := start(t, "--control="+sock, "{", "@web", selfBin, "helper", "sleep", "}")
	t.Cleanup(func() { stopIfFailed(s) })
	s.waitLog(1, msg("control socket", "path", sock))
	fi, err := os.Lstat(sock)
	if err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket: %v, %v; want a socket with mode 0600", fi.Mode(), err)
	}
	ctlOK(t, sock, "list")

	second := exec.Command(respawnBin, "--control="+sock, "{", selfBin, "helper", "sleep", "}")
	out, err := second.CombinedOutput()
	if second.ProcessState.ExitCode() != 2 || strings.Count(string(out), "\n") != 1 ||
		!strings.HasPrefix(string(out), "respawn: control: a live supervisor already serves the control socket: "+sock) {
		t.Fatalf("second respawn on the same socket: %v, output %q; want exit 2 and one line", err, out)
	}
	if d, _ := ctlJSON(t, sock, "dump"); d.Dump == nil || d.Dump.Pid != s.Pid {
		t.Fatalf("after the second respawn, the socket answers %+v", d)
	}

	if code := s.stop(); code != 0 {
		t.Errorf("exit status %d", code)
	}
	if _, err := os.Lstat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket file left after exit: %v", err)
	}
	ctlFails(t, sock, "no supervisor at "+sock, "list")
}

// --control=none: no socket, no control task.
func TestControlNone(t *testing.T) {
	s := start(t, "--control=none", "{", "@web", selfBin, "helper", "sleep", "}")
	s.waitLog(1, msg("respawn started", "tasks", 0))
	if n := s.count(msg("control socket")); n != 0 {
		t.Errorf("%d control socket lines with --control=none", n)
	}
	s.stop()
}

// Without --control, respawn (as root) and respawnctl meet at the default
// path; if another supervisor on this machine holds it, respawn runs
// without a control socket and says so.
func TestControlDefaultPath(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("the default path of a user depends on XDG_RUNTIME_DIR")
	}
	s := start(t, "{", "@web", selfBin, "helper", "sleep", "}")
	t.Cleanup(func() { stopIfFailed(s) })
	s.waitLog(1, msg("respawn started"))
	if s.count(msg("respawn: no control socket at the default path", "path", control.SystemPath)) == 1 {
		s.stop()
		t.Skip("another supervisor serves " + control.SystemPath)
	}
	s.waitLog(1, msg("control socket", "path", control.SystemPath))
	out, _, code := ctlCmd(t, exec.Command(respawnctlBin, "--json", "dump"))
	if code != 0 || !strings.Contains(out, `"pid":`+strconv.Itoa(s.Pid)+",") {
		t.Fatalf("respawnctl dump at the default path: exit %d, %q", code, out)
	}
	s.stop()
	if _, err := os.Lstat(control.SystemPath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s left after exit: %v", control.SystemPath, err)
	}
}

// A peer of another uid is kept out by the socket's mode; given access to
// the socket, it is refused by its peer credentials, answered so, and
// logged. Root is served all along.
func TestControlRefusedPeer(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("running a client as another uid needs root")
	}
	dir, err := os.MkdirTemp("", "respawn-ctl-peer")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "respawnctl")
	copyFile(t, respawnctlBin, bin, 0o755)
	sock := filepath.Join(dir, "ctl.sock")
	s := start(t, "--control="+sock, "{", "@web", selfBin, "helper", "sleep", "}")
	t.Cleanup(func() { stopIfFailed(s) })
	s.waitLog(1, msg("ALIVE", "task", "control"))

	nobody := func(args ...string) *exec.Cmd {
		cmd := exec.Command(bin, append([]string{"--socket", sock}, args...)...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		return cmd
	}
	_, errOut, code := ctlCmd(t, nobody("list"))
	if code != 1 || errOut != "respawnctl: not allowed to connect to "+sock+": permission denied\n" {
		t.Fatalf("uid 65534 with the socket at 0600: exit %d, %q", code, errOut)
	}
	if n := s.count(msg("control: peer refused")); n != 0 {
		t.Fatalf("%d refusals logged before any connection", n)
	}

	if err := os.Chmod(sock, 0o666); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"list"}, {"stop", "web"}, {"events"}, {"upgrade"}} {
		out, errOut, code := ctlCmd(t, nobody(args...))
		want := "respawnctl: refused by the supervisor at " + sock + ": refused: uid 65534 is not served (only root and uid 0)\n"
		if code != 1 || out != "" || errOut != want {
			t.Errorf("uid 65534 %v: exit %d, stdout %q, stderr %q; want %q", args, code, out, errOut, want)
		}
	}
	s.waitLog(4, msg("control: peer refused", "uid", 65534))
	if m := list(t, sock); m["web"].State != "ALIVE" {
		t.Errorf("web after refused requests: %+v", m["web"])
	}
	s.stop()
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}

// respawnctl upgrade re-executes respawn through the control socket and
// reports the new generation; every server keeps its pid and state, and
// clients that keep connecting meanwhile are all served: the listening
// socket is never missing, and a connection made during the exec window
// is answered by the new image. A build that cannot upgrade says so: one
// line, exit 1.
func TestControlUpgrade(t *testing.T) {
	s, sock := startCtl(t, "--retries=0", "--interval=1h",
		"{", "@web", selfBin, "helper", "sleep", "}",
		"{", "@x", selfBin, "helper", "exit", "3", "}")
	s.waitLog(1, msg("BURIED", "server", 2))
	before := list(t, sock)

	stop := make(chan struct{})
	var served, cut atomic.Int64
	var mu sync.Mutex
	var bad []string
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				switch why := listOnce(sock, 3); {
				case why == "":
					served.Add(1)
				case why == "read: EOF" || strings.Contains(why, "connection reset"):
					cut.Add(1) // accepted by the old image, closed by execve
				default:
					mu.Lock()
					bad = append(bad, why)
					mu.Unlock()
				}
			}
		}()
	}
	for gen := 1; gen <= 2; gen++ {
		out, errOut, code := ctl(t, sock, "upgrade")
		if code == 1 && strings.Contains(errOut, "live upgrade is not available") {
			close(stop)
			wg.Wait()
			if strings.Count(errOut, "\n") != 1 || out != "" {
				t.Errorf("upgrade unavailable: stdout %q, stderr %q", out, errOut)
			}
			s.stop()
			t.Skip("this build cannot upgrade itself")
		}
		want := "upgraded: pid " + strconv.Itoa(s.Pid) + ", generation " + strconv.Itoa(gen) + " (was " + strconv.Itoa(gen-1) + "), version dev\n"
		if code != 0 || out != want || errOut != "" {
			t.Fatalf("upgrade %d: exit %d, stdout %q, stderr %q; want %q", gen, code, out, errOut, want)
		}
		s.waitLog(gen, msg("respawn upgraded"))
	}
	time.Sleep(50 * time.Millisecond) // let the clients run against the last image too
	close(stop)
	wg.Wait()
	if len(bad) > 0 {
		t.Fatalf("%d requests failed during the upgrades (%d served, %d cut by execve), first: %s", len(bad), served.Load(), cut.Load(), bad[0])
	}
	t.Logf("during two upgrades: %d lists served, %d connections cut by execve", served.Load(), cut.Load())
	after := list(t, sock)
	for _, name := range []string{"web", "x"} {
		b, a := before[name], after[name]
		if a.Pid != b.Pid || a.State != b.State || a.Restarts != b.Restarts || a.LastExit != b.LastExit {
			t.Errorf("%s: before %+v, after %+v", name, b, a)
		}
	}
	if c := after["control"]; c.State != "ALIVE" {
		t.Errorf("control task after the upgrades: %+v", c)
	}
	s.stop()
}
