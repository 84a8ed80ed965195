//go:build linux

package test

import (
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A live upgrade while watching: a watched process killed as respawn
// re-executes itself is restarted all the same (its exit waits on the
// socket the new image keeps, or the old image saw it), and the rules and
// the watched table survive: respawnctl watch lists them, and a process
// watched since before the upgrades is restarted when it dies after them.
func TestWatchAcrossUpgrade(t *testing.T) {
	w := newWatchEnv(t)
	dir := t.TempDir()
	bin := w.program(dir, "wt"+word(t))
	stay := w.start(bin, "helper", "sleep", "stay")
	// Where each kill lands after the SIGHUP: the pre-flight, the
	// snapshot, the execve, the new image's first turns.
	delays := []time.Duration{0, time.Millisecond, 3 * time.Millisecond, 10 * time.Millisecond, 30 * time.Millisecond}
	victims := make([]*outsider, len(delays))
	for i := range delays {
		victims[i] = w.start(bin, "helper", "sleep", "v"+strconv.Itoa(i))
	}
	glob := dir + "/wt*"
	s, sock := w.startCtl("--watch-exe=" + glob)
	for _, o := range append(victims, stay) {
		s.waitLog(1, msg("watching", "pid", o.pid))
	}

	for i, d := range delays {
		s.signal(unix.SIGHUP)
		time.Sleep(d) // not for correctness: it spreads the kills over the upgrade
		victims[i].kill(t)
		s.waitLog(1, msg("respawn upgraded", "generation", i+2))
		s.waitLog(1, msg("restarting watched process as a server", "pid", victims[i].pid))
		restartedAs(t, s, victims[i].argv)
	}

	out := ctlOK(t, sock, "watch")
	if !strings.Contains(out, glob) || !hasWord(out, strconv.Itoa(stay.pid)) {
		t.Errorf("respawnctl watch after %d upgrades does not list the rule %s and pid %d:\n%s", len(delays), glob, stay.pid, out)
	}
	stay.kill(t)
	s.waitLog(1, msg("restarting watched process as a server", "pid", stay.pid))
	restartedAs(t, s, stay.argv)
	if code := s.stop(); code != 0 {
		t.Errorf("respawn exit status %d after SIGTERM, want 0", code)
	}
}

// hasWord reports whether w is one of the words of text.
func hasWord(text, w string) bool {
	for _, f := range strings.FieldsFunc(text, func(r rune) bool { return strings.ContainsRune(" \t\n,:=()[]{}\"", r) }) {
		if f == w {
			return true
		}
	}
	return false
}

// As PID 1 of a new pid namespace (a container's init) the proc connector
// cannot serve respawn: the watch task is buried and says why, and the
// servers run and stop as always.
func TestWatchBuriedAsPID1(t *testing.T) {
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Fatal("unshare (util-linux) is needed:", err)
	}
	s := launch(t, exec.Command(unshare, "--fork", "--pid", "--mount-proc",
		respawnBin, "--log-format=json", "--control=none", "--watch-exe=/usr/sbin/*",
		"{", selfBin, "helper", "sleep", "}"))
	var init int // respawn's pid outside the namespace
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
	l := s.waitLog(1, func(l map[string]any) bool { return l["msg"] == "BURIED" && l["task"] == "watch" })
	if why := fmt.Sprint(l); !strings.Contains(why, "namespace") {
		t.Errorf("the watch task's burial does not say it is the namespace: %s", why)
	}
	s.waitLog(1, msg("ALIVE", "server", 1))
	var server int
	eventually(t, "the server running as respawn's child", func() bool {
		for _, k := range children(init) {
			if strings.HasSuffix(cmdline(k), "helper sleep") && alive(k) {
				server = k
			}
		}
		return server > 0
	})

	if err := unix.Kill(init, unix.SIGTERM); err != nil {
		t.Fatal(err)
	}
	code := s.wait()
	s.waitLog(1, msg("CREMATED", "server", 1, "exit", "signal SIGTERM"))
	t.Logf("respawn's exit status with its watch task buried: %d", code)
	for _, pid := range []int{server, init} {
		if !gone(pid) {
			t.Errorf("pid %d outlived the stop: %s", pid, cmdline(pid))
		}
	}
}
