//go:build linux

package test

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A new binary whose pre-flight check hangs does not hold supervision up:
// a server killed meanwhile is back well within the check's 5 s timeout, a
// second SIGHUP joins the upgrade under way, and at the timeout the check
// is killed and reaped and the upgrade refused with one log line.
// Reproduces the defect where the check ran on the event loop and a killed
// server came back only after it (4.8 s).
func TestUpgradeHungCheck(t *testing.T) {
	bin := copyBinary(t)
	s := startBin(t, bin, "", "--interval=50ms", "{", selfBin, "helper", "sleep", "}")
	s.waitLog(1, msg("ALIVE", "server", 1))
	pid := s.pidOf(1)
	waitLived(t, s, 1, 50e6)
	pidFile := tempFile(t, "check")
	writeScript(t, bin, fmt.Sprintf("echo $$ > %s.new; mv %s.new %s; exec sleep 1000\n", pidFile, pidFile, pidFile))
	s.signal(unix.SIGHUP)
	check := waitPidFile(t, pidFile)
	s.signal(unix.SIGHUP)
	s.waitLog(1, msg("upgrade already under way: request joined to it"))
	unix.Kill(pid, unix.SIGKILL)
	deadline := time.Now().Add(time.Second)
	for s.pidOf(1) == pid {
		if time.Now().After(deadline) {
			t.Fatal("a server killed while the pre-flight check hangs was not respawned within 1 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	l := s.waitLog(1, msg("respawn: upgrade refused, carrying on"))
	if err, _ := l["err"].(string); !strings.Contains(err, "pre-flight check timeout: no answer within 5s") {
		t.Errorf("refused for %q, want the timeout", err)
	}
	eventually(t, "the hung check reaped", func() bool { return gone(check) })
	if n := s.count(msg("respawn: upgrade refused, carrying on")); n != 1 {
		t.Errorf("%d refusal lines, want 1", n)
	}
	if s.count(msg("reaped orphan", "pid", check)) != 0 {
		t.Error("the check was reaped as an orphan")
	}
	s.stop()
}

// The pre-flight check must prove it read the snapshot it was given: a
// binary that prints the old magic line without reading it, or answers
// another snapshot's digest, is refused, and nothing changes: the servers
// are still children of the same respawn and are still supervised. A
// genuine binary (a copy of respawn) is accepted. Reproduces the defect
// where the magic line alone let a binary that then exits take every
// server with it.
func TestUpgradeCheckMustReadSnapshot(t *testing.T) {
	const magic = "respawn upgrade-check: ok (reads snapshot versions 1 to 1)"
	for _, tt := range []struct {
		name, check, why string
	}{
		{"old magic line", "echo '" + magic + "'; exit 0", "without the digest"},
		{"wrong digest", "echo '" + magic + " records=1 digest=sha256:" + strings.Repeat("0", 64) + "'; exit 0", "a different snapshot"},
		{"genuine", "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			bin := copyBinary(t)
			s := startBin(t, bin, "", "--interval=50ms", "{", selfBin, "helper", "sleep", "}")
			first := s.waitLog(1, msg("ALIVE", "server", 1))
			pid := int(first["pid"].(float64))
			if tt.check == "" {
				s.upgrade(1)
				if ppid, _ := procStat(pid); ppid != s.Pid {
					t.Errorf("server pid %d has parent %d after the upgrade, want respawn %d", pid, ppid, s.Pid)
				}
				s.stop()
				return
			}
			// Whatever else it is asked, the binary exits: an image that
			// would orphan every server.
			writeScript(t, bin, fmt.Sprintf("case \"$1\" in\n--upgrade-check=*) %s;;\nesac\nexit 0\n", tt.check))
			s.signal(unix.SIGHUP)
			l := s.waitLog(1, msg("respawn: upgrade refused, carrying on"))
			if err, _ := l["err"].(string); !strings.Contains(err, tt.why) {
				t.Errorf("refused for %q, want %q", err, tt.why)
			}
			if ppid, _ := procStat(pid); ppid != s.Pid || s.exited() {
				t.Fatalf("server pid %d has parent %d, want respawn %d, still running", pid, ppid, s.Pid)
			}
			waitLived(t, s, 1, 50e6)
			unix.Kill(pid, unix.SIGKILL)
			s.waitLog(1, msg("ALIVE", "server", 1, "from", "DEAD"))
			if d := s.dump(1); d["generation"] != float64(0) {
				t.Errorf("generation %v after a refused upgrade", d["generation"])
			}
			s.stop()
		})
	}
}

// respawnctl upgrade waits for the pre-flight check like SIGHUP does: two
// requests during one check both get the new generation, and a request
// whose upgrade a stop cancels is answered so.
func TestControlUpgradeJoinsAndCancels(t *testing.T) {
	s, bin, sock := startCopy(t)
	begun, goOn := slowPreflight(t, bin)
	a := ctlUpgrade(sock)
	waitFile(t, begun)
	b := ctlUpgrade(sock)
	s.waitLog(1, msg("upgrade already under way: request joined to it"))
	touch(t, goOn)
	want := fmt.Sprintf("upgraded: pid %d, generation 1 (was 0), version dev\n(<nil>)", s.Pid)
	for _, c := range []<-chan string{a, b} {
		if got := <-c; got != want {
			t.Errorf("respawnctl upgrade said %q, want %q", got, want)
		}
	}
	s.stop()

	s, bin, sock = startCopy(t)
	begun, _ = slowPreflight(t, bin)
	c := ctlUpgrade(sock)
	waitFile(t, begun)
	s.signal(unix.SIGTERM)
	if got := <-c; !strings.Contains(got, "upgrade cancelled: shutting down") || !strings.Contains(got, "exit status 1") {
		t.Errorf("respawnctl upgrade cancelled by a stop said %q", got)
	}
	s.wait()
}

// startCopy starts a copy of respawn with a control socket and one server.
func startCopy(t *testing.T) (s *Sup, bin, sock string) {
	t.Helper()
	bin = copyBinary(t)
	sock = filepath.Join(t.TempDir(), "ctl.sock")
	s = startBin(t, bin, "", "--control="+sock, "{", selfBin, "helper", "sleep", "}")
	t.Cleanup(func() { stopIfFailed(s) })
	s.waitLog(1, msg("ALIVE", "task", "control"))
	return s, bin, sock
}

// ctlUpgrade runs respawnctl upgrade in the background; its output and
// error come on the channel.
func ctlUpgrade(sock string) <-chan string {
	c := make(chan string, 1)
	go func() {
		out, err := exec.Command(respawnctlBin, "--socket", sock, "upgrade").CombinedOutput()
		c <- fmt.Sprintf("%s(%v)", out, err)
	}()
	return c
}
