//go:build linux

package test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func init() { moreHelpers["setcomm"] = setComm }

// setComm plays a process that names itself: it writes args[1] to its
// /proc/self/comm (the kernel takes any byte but NUL there), writes
// "ready" to args[0] and sleeps.
func setComm(args []string) int {
	if err := os.WriteFile("/proc/self/comm", []byte(args[1]), 0); err != nil {
		return 97
	}
	appendLine(args[0], "ready")
	return pause()
}

// A watched process of another user is restarted as that user: the uid,
// gid and supplementary groups /proc showed at first sight (respawn runs
// as root: without them the restart would be root's).
func TestWatchRestartKeepsCredentials(t *testing.T) {
	w := newWatchEnv(t)
	bin := w.program(openDir(t), "wt"+word(t))
	cred := &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{65534, 100}}
	o := w.startAs(cred, openDir(t), bin, "helper", "sleep")
	s := w.begin("--watch-exe=" + bin)
	e := watchedEntry(watchedNow(t, s, o.pid), o.pid)
	if attr(e, "uid") != 65534 || attr(e, "gid") != 65534 {
		t.Errorf("the dump records pid %d as uid %v gid %v, want 65534", o.pid, e["uid"], e["gid"])
	}

	o.kill(t)
	exitSeen(s, o, "signal SIGKILL")
	pid := restartedAs(t, s, o.argv)
	checkLike(t, pid, o, o.argv)
	for field, want := range map[string]string{"Uid": "65534 65534 65534 65534", "Gid": "65534 65534 65534 65534", "Groups": "100 65534"} {
		if got := procStatus(t, pid, field); got != want {
			t.Errorf("restarted pid %d: %s %q, want %q", pid, field, got, want)
		}
	}
	if code := s.stop(); code != 0 {
		t.Errorf("respawn exit status %d after SIGTERM, want 0", code)
	}
}

// A watched process that exits with a status other than 0 has died
// abnormally: it is restarted. From then on it is a server like the
// others: dying faster than --interval buries it, and SIGUSR2 revives it.
func TestWatchAdoptedBuriedRevived(t *testing.T) {
	w := newWatchEnv(t)
	bin := w.program(t.TempDir(), "wt"+word(t))
	ready := tempFile(t, "ready")
	o := w.start(bin, "helper", "waitusr1", ready, "3")
	waitLines(t, ready, 1)
	s := w.begin("--retries=0", "--interval=1h", "--watch-exe="+bin)
	watchedNow(t, s, o.pid)

	if err := unix.Kill(o.pid, unix.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	o.wait(t)
	exitSeen(s, o, "exit 3")
	s.waitLog(1, msg("restarting watched process as a server", "pid", o.pid))
	pid := restartedAs(t, s, o.argv)
	waitLines(t, ready, 2)
	if err := unix.Kill(pid, unix.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	s.waitLog(1, msg("BURIED", "server", 1, "exit", "exit 3", "from", "ALIVE"))
	if p := runningAs(s, o.argv); len(p) != 0 {
		t.Fatalf("buried, and yet respawn runs it: pids %v", p)
	}
	s.signal(unix.SIGUSR2)
	s.waitLog(2, msg("ALIVE", "server", 1))
	checkLike(t, restartedAs(t, s, o.argv, pid), o, o.argv)
	if code := s.stop(); code != 0 {
		t.Errorf("respawn exit status %d after SIGTERM, want 0", code)
	}
}

// What the info dump, list and status show of watching reads well: the
// watched process (by a name it chose, a newline in it, which cannot
// forge a line of the dump or a row of the list), the server taken over
// from a watched process (its source and rule), and none of respawn's own
// servers watched, nor a worker in a server's process group, though they
// run the very executable a rule names.
func TestWatchDumpReads(t *testing.T) {
	w := newWatchEnv(t)
	bin := w.program(t.TempDir(), "wt"+word(t))
	const comm = "a\n  rule pid:1" // 14 bytes: comm keeps 15
	ready := tempFile(t, "ready")
	forger := w.start(bin, "helper", "setcomm", ready, comm)
	waitLines(t, ready, 1)
	victim := w.start(bin, "helper", "sleep", "victim")
	pids := tempFile(t, "pids")
	s, sock := w.startCtl("--watch-exe="+bin, "--watch-pid="+strconv.Itoa(forger.pid),
		"{", bin, "helper", "sleep", "own", "}", "{", selfBin, "helper", "groupleader", pids, bin, "}")
	worker, _ := strconv.Atoi(strings.Fields(waitLines(t, pids, 1)[0])[1])
	t.Cleanup(func() { _ = unix.Kill(worker, unix.SIGKILL) })
	watchedNow(t, s, forger.pid, victim.pid)
	victim.kill(t)
	exitSeen(s, victim, "signal SIGKILL")
	s.waitLog(1, msg("ALIVE", "server", 3))

	d := watchDump(t, s)
	if list, _ := d["watched"].([]any); len(list) != 1 || watchedEntry(d, forger.pid) == nil {
		t.Errorf("watched: %v; want pid %d alone (respawn's servers and worker %d run %s and are not watched)", d["watched"], forger.pid, worker, bin)
	}
	text := ctlOK(t, sock, "dump")
	if n := strings.Count(text, "\n  rule "); n != 2 {
		t.Errorf("the text dump has %d rule lines, want 2:\n%s", n, text)
	}
	if want := "\n  watched pid=" + strconv.Itoa(forger.pid) + " name=" + strconv.Quote(comm) + " rule=pid:"; !strings.Contains(text, want) {
		t.Errorf("the text dump lacks %q:\n%s", want, text)
	}
	if !regexp.MustCompile(`\n  \[3\] wt\S+ pid=\d+ state=ALIVE .* source=watched rule=exe:` + regexp.QuoteMeta(bin) + ` cmd: `).MatchString(text) {
		t.Errorf("the text dump does not show server 3 as taken over from a watched process:\n%s", text)
	}
	for _, row := range strings.Split(strings.TrimSuffix(ctlOK(t, sock, "list"), "\n"), "\n") {
		if row == "" || row[0] == ' ' {
			t.Errorf("list has a row %q", row)
		}
	}
	if out := ctlOK(t, sock, "status", "3"); !strings.Contains(out, "source:    watched exe:"+bin+"\n") {
		t.Errorf("status 3:\n%s", out)
	}
	if code := s.stop(); code != 0 {
		t.Errorf("respawn exit status %d after SIGTERM, want 0", code)
	}
}

// As PID 1 of a new pid namespace, with watch rules and no server, there
// is nothing respawn could do: it refuses to start, one line on stderr
// that says why, exit status 2.
func TestWatchNothingToServe(t *testing.T) {
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Fatal("unshare (util-linux) is needed:", err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(unshare, "--fork", "--pid", "--mount-proc", "--kill-child",
		respawnBin, "--control=none", "--watch-exe=/usr/sbin/*")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		_ = unix.Kill(cmd.Process.Pid, unix.SIGKILL) // --kill-child takes respawn with it
		<-done
		t.Fatal("respawn with watch rules it cannot serve and no server did not exit")
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || strings.Count(stderr.String(), "\n") != 1 ||
		!strings.Contains(stderr.String(), "namespace") || stdout.Len() != 0 {
		t.Errorf("exit %v, stdout %q, stderr %q; want exit 2 and one line naming the namespace", err, stdout.String(), stderr.String())
	}
}
