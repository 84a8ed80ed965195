//go:build linux

package test

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func init() {
	moreHelpers["groupleader"] = groupLeader
	moreHelpers["noreap"] = noReap
}

// groupLeader plays a forking server: it starts a worker (the test binary
// sleeping) in its own process group, writes "LEADER WORKER" pids to
// args[0], and sleeps.
func groupLeader(args []string) int {
	c := exec.Command(args[1], "helper", "sleep", "worker")
	if err := c.Start(); err != nil {
		return 98
	}
	appendLine(args[0], strconv.Itoa(os.Getpid())+" "+strconv.Itoa(c.Process.Pid))
	return pause()
}

// noReap plays a parent that never reaps: it starts args[1:] in a new
// session, writes its pid to args[0] and sleeps. The child, once dead,
// stays a zombie until noReap itself ends.
func noReap(args []string) int {
	c := exec.Command(args[1], args[2:]...)
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := c.Start(); err != nil {
		return 98
	}
	appendLine(args[0], strconv.Itoa(c.Process.Pid))
	return pause()
}

// Before it restarts a watched process, respawn kills what the process
// left in the process group it led (a forking server's workers), so that
// two generations never run side by side. A process that left nothing
// there, only its own zombie (its parent has not reaped it yet: the
// kernel reports the exit first), is restarted without a warning about
// leftovers.
func TestWatchGroupLeftovers(t *testing.T) {
	w := newWatchEnv(t)
	dir := t.TempDir()
	bin := w.program(dir, "wt"+word(t))
	pids := tempFile(t, "pids")
	leader := w.start(bin, "helper", "groupleader", pids, selfBin)
	worker, _ := strconv.Atoi(strings.Fields(waitLines(t, pids, 1)[0])[1])
	t.Cleanup(func() { _ = unix.Kill(worker, unix.SIGKILL) })
	alonePid := tempFile(t, "alone")
	parent := w.start(selfBin, "helper", "noreap", alonePid, bin, "helper", "sleep", "alone")
	alone := &outsider{pid: waitPidFile(t, alonePid), argv: []string{bin, "helper", "sleep", "alone"}, dir: parent.dir, token: parent.token}
	t.Cleanup(func() { _ = unix.Kill(alone.pid, unix.SIGKILL) })
	eventually(t, "the lone process running", func() bool { return len(environOf(alone.pid)) > 0 })
	s := w.begin("--watch-exe=" + dir + "/wt*")
	watchedNow(t, s, leader.pid, alone.pid)

	if err := unix.Kill(alone.pid, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	exitSeen(s, alone, "signal SIGKILL")
	s.waitLog(1, msg("restarting watched process as a server", "pid", alone.pid))
	checkLike(t, restartedAs(t, s, alone.argv), alone, alone.argv)
	if _, st := procStat(alone.pid); st != 'Z' {
		t.Fatalf("the lone process is not a zombie of its parent (state %q): the test did not test", st)
	}
	if l := s.count(func(l map[string]any) bool {
		return attr(l, "pid") == alone.pid && l["level"] == "WARN" && strings.Contains(l["msg"].(string), "left")
	}); l != 0 {
		t.Errorf("respawn warned of leftovers of a process that left only its zombie (%d lines)", l)
	}

	leader.kill(t)
	exitSeen(s, leader, "signal SIGKILL")
	s.waitLog(1, msg("restarting watched process as a server", "pid", leader.pid))
	eventually(t, "the old worker killed", func() bool { return !alive(worker) })
	restartedAs(t, s, leader.argv)
	if code := s.stop(); code != 0 {
		t.Errorf("respawn exit status %d after SIGTERM, want 0", code)
	}
}
