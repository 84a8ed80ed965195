//go:build linux

package test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A live upgrade while watching: a watched process killed as respawn
// re-executes itself is restarted all the same (its exit waits on the
// socket the new image keeps, or the old image saw it), and the rules (a
// rule added at run time too) and the watched table survive: respawnctl
// watch lists them, and a process
// watched since before the upgrades is restarted when it dies after them.
func TestWatchAcrossUpgrade(t *testing.T) {
	w := newWatchEnv(t)
	dir := t.TempDir()
	bin := w.program(dir, "wt"+word(t))
	stay := w.start(bin, "helper", "sleep", "stay")
	// Each victim is killed once the upgrade's pre-flight check has
	// ended, that much later: in the snapshot, the execve, the new
	// image's first steps.
	delays := []time.Duration{0, time.Millisecond, 3 * time.Millisecond, 10 * time.Millisecond, 30 * time.Millisecond}
	victims := make([]*outsider, len(delays))
	for i := range delays {
		victims[i] = w.start(bin, "helper", "sleep", "v"+strconv.Itoa(i))
	}
	glob := dir + "/wt*"
	s, sock := w.startCtl("--watch-exe=" + glob)
	pids := []int{stay.pid}
	for _, o := range victims {
		pids = append(pids, o.pid)
	}
	watchedNow(t, s, pids...)
	added := "name:x" + word(t) // a rule given at run time rides the snapshot too
	ctlOK(t, sock, "watch", added)

	inWindow := 0
	for i, d := range delays {
		upgraded := msg("respawn upgraded", "generation", i+1)
		s.signal(unix.SIGHUP)
		preflightEnded(t, s, upgraded)
		time.Sleep(d) // not for correctness: it spreads the kills over the exec window
		if s.count(upgraded) == 0 {
			inWindow++
		}
		victims[i].kill(t)
		s.waitLog(1, upgraded)
		s.waitLog(1, msg("restarting watched process as a server", "pid", victims[i].pid))
		restartedAs(t, s, victims[i].argv)
	}
	t.Logf("%d of %d kills before the new image said it was up", inWindow, len(delays))

	d := watchDump(t, s)
	if rules, _ := d["rules"].([]any); len(rules) != 2 || rules[0] != "exe:"+glob || rules[1] != added || watchedEntry(d, stay.pid) == nil {
		t.Errorf("after %d upgrades the dump shows rules %v and watched %v; want exe:%s, %s and pid %d", len(delays), d["rules"], d["watched"], glob, added, stay.pid)
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

// preflightEnded waits until the upgrade's pre-flight check (the new
// binary run by respawn with --upgrade-check) has run and ended: respawn
// then snapshots and re-executes itself. If the upgrade is done before the
// check is seen (upgraded is logged), it returns at once.
func preflightEnded(t *testing.T, s *Sup, upgraded Match) {
	t.Helper()
	check := 0
	eventually(t, "the upgrade's pre-flight check", func() bool {
		for _, k := range children(s.Pid) {
			if a := argvOf(k); len(a) > 1 && a[0] == respawnBin && strings.HasPrefix(a[1], "--upgrade-check") {
				check = k
				return true
			}
		}
		return s.count(upgraded) > 0
	})
	if check > 0 {
		eventually(t, "the pre-flight check's end", func() bool { return !alive(check) || s.count(upgraded) > 0 })
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
// cannot serve respawn: the watch task is buried and says why (in its log
// line and in the info dump), and the servers run and stop as always.
func TestWatchBuriedAsPID1(t *testing.T) {
	s, init := launchPID1(t, "--log-format=json", "--control=none", "--watch-exe=/usr/sbin/*",
		"{", selfBin, "helper", "sleep", "}")
	l := s.waitLog(1, func(l map[string]any) bool { return l["msg"] == "BURIED" && l["task"] == "watch" })
	if why := fmt.Sprint(l); !strings.Contains(why, "namespace") {
		t.Errorf("the watch task's burial does not say it is the namespace: %s", why)
	}
	if err := unix.Kill(init, unix.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	d, _ := s.waitLog(1, msg("info dump"))["watch"].(map[string]any)
	if d == nil || d["state"] != "BURIED" || !strings.Contains(fmt.Sprint(d["reason"]), "namespace") {
		t.Errorf("the info dump's watch section: %v; want the task BURIED, with its reason", d)
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
