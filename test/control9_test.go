//go:build linux

package test

import (
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"respawn/control"
)

func init() {
	moreHelpers["slowterm"] = slowTerm
}

// slowTerm is the helper mode "slowterm FILE DELAY": write "ready" to FILE,
// and on SIGTERM append "term", wait DELAY, then exit 0, as a server that
// finishes its work before it stops.
func slowTerm(args []string) int {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGTERM)
	appendLine(args[0], "ready "+strconv.Itoa(os.Getpid()))
	<-c
	appendLine(args[0], "term "+strconv.Itoa(os.Getpid()))
	d, _ := time.ParseDuration(args[1])
	time.Sleep(d)
	return 0
}

// logIndex is the position of the first log line matching m, or -1.
func (s *Sup) logIndex(m Match) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, l := range s.logs {
		if m(l) {
			return i
		}
	}
	return -1
}

// restart stops the server, waits until its process has ended, and starts
// it again: the new process starts after the old one's death was handled,
// and respawnctl answers once it runs. A stopped server is started; a typo
// gets a suggestion; the control task cannot restart itself.
func TestControlRestart(t *testing.T) {
	file := tempFile(t, "web")
	s, sock := startCtl(t, "--interval=1h", "{", "@web", selfBin, "helper", "slowterm", file, "300ms", "}")
	old := s.pidOf(1)
	waitLines(t, file, 1)

	out := ctlOK(t, sock, "restart", "web")
	if alive(old) {
		t.Errorf("restart answered while the old process %d still runs", old)
	}
	in := list(t, sock)["web"]
	if in.State != "ALIVE" || in.Pid == old || !alive(in.Pid) || in.Restarts != 1 {
		t.Fatalf("after restart: %+v (old pid %d)", in, old)
	}
	if want := "[1] web ALIVE pid " + strconv.Itoa(in.Pid) + ": restarted\n"; out != want {
		t.Errorf("restart said %q, want %q", out, want)
	}
	died := s.logIndex(msg("DEAD", "server", 1, "pid", old, "exit", "exit 0"))
	born := s.logIndex(msg("ALIVE", "server", 1, "pid", in.Pid, "from", "DEAD"))
	if died < 0 || born < died {
		t.Errorf("log: the old one's death at line %d, the new start at line %d", died, born)
	}
	if l := s.waitLog(1, msg("DEAD", "server", 1, "pid", old)); l["level"] != "INFO" || l["restart"] != "asked" {
		t.Errorf("a restart logged as a death: %v", l)
	}

	ctlOK(t, sock, "stop", "--wait", "web")
	out = ctlOK(t, sock, "restart", "web")
	if in = list(t, sock)["web"]; in.State != "ALIVE" || !strings.Contains(out, "pid "+strconv.Itoa(in.Pid)+": restarted") {
		t.Errorf("restart of a stopped server: %q, %+v", out, in)
	}
	ctlFails(t, sock, `restart webb: no such server "webb"; did you mean "web"?`+"\n", "restart", "webb")
	ctlFails(t, sock, "restart control: the control socket cannot stop itself", "restart", "control")
	if code := s.stop(); code != 0 {
		t.Errorf("exit status %d", code)
	}
}

// A crash that comes while a restart's stop is under way is the death the
// restart waited for: exactly one new process starts, every time. Without
// the restart pending on the record, the SIGKILLed server would be buried
// (--interval=1h) or started twice.
func TestControlRestartRacesCrash(t *testing.T) {
	file := tempFile(t, "web")
	s, sock := startCtl(t, "--interval=1h", "{", "@web", selfBin, "helper", "slowterm", file, "5s", "}")
	for i := range 5 {
		pid := s.pidOf(1)
		waitLines(t, file, 2*i+1) // ready
		done := make(chan string, 1)
		go func() {
			out, errOut, code := ctl(t, sock, "restart", "web")
			done <- out + errOut + " exit " + strconv.Itoa(code)
		}()
		waitLines(t, file, 2*i+2) // term: the stop is under way
		if err := unix.Kill(pid, unix.SIGKILL); err != nil {
			t.Fatal(err)
		}
		if got := <-done; !strings.HasSuffix(got, ": restarted\n exit 0") {
			t.Fatalf("restart %d said %q", i+1, got)
		}
		in := list(t, sock)["web"]
		if in.State != "ALIVE" || in.Pid == pid || in.LastExit != "signal SIGKILL" {
			t.Fatalf("restart %d: %+v", i+1, in)
		}
		if n := s.count(msg("ALIVE", "server", 1)); n != i+2 {
			t.Fatalf("after restart %d: %d starts, want %d", i+1, n, i+2)
		}
		if kids := children(s.Pid); len(kids) != 1 || kids[0] != in.Pid {
			t.Fatalf("after restart %d: respawn's children %v, want only %d", i+1, kids, in.Pid)
		}
	}
	if n := s.count(msg("BURIED")); n != 0 {
		t.Errorf("%d burials", n)
	}
	s.stop()
}

// stop --wait answers once the server has ended; meanwhile other clients
// are answered as usual.
func TestControlStopWait(t *testing.T) {
	file := tempFile(t, "web")
	s, sock := startCtl(t, "{", "@web", selfBin, "helper", "slowterm", file, "2s", "}", "{", "@keep", selfBin, "helper", "sleep", "}")
	pid := s.pidOf(1)
	waitLines(t, file, 1)
	said := make(chan string, 1)
	go func() {
		out, errOut, _ := ctl(t, sock, "stop", "--wait", "web")
		said <- out + errOut
	}()
	waitLines(t, file, 2) // it got SIGTERM and takes 2 s to end
	if in := list(t, sock)["web"]; in.State != "ALIVE" || in.Pid != pid || !alive(pid) {
		t.Errorf("list while stop --wait waits: %+v", in)
	}
	out := <-said
	if alive(pid) {
		t.Errorf("stop --wait answered while %d still runs", pid)
	}
	if out != "[1] web CREMATED: stopped\n" {
		t.Errorf("stop --wait said %q", out)
	}
	ans, code := ctlJSON(t, sock, "stop", "--wait", "keep")
	if code != 0 || !ans.OK || ans.Status == nil || ans.Status.State != "CREMATED" || ans.Status.LastExit != "signal SIGTERM" {
		t.Errorf("stop --wait --json: exit %d, %+v", code, ans)
	}
	ctlFails(t, sock, "stop web: web is already CREMATED", "stop", "--wait", "web")
	s.stop()
}

// An operator's stop of the last server does not end respawn: the server
// can be started again. A server that ends by itself does end it.
// Reproduces the defect where stopping the last server ended respawn.
func TestControlStopLastKeepsRunning(t *testing.T) {
	s, sock := startCtl(t, "{", "@web", selfBin, "helper", "sleep", "}", "{", "@x", selfBin, "helper", "exit", "0", "100ms", "}")
	s.waitLog(1, msg("CREMATED", "server", 2, "exit", "exit 0"))
	ctlOK(t, sock, "stop", "--wait", "web")
	out := ctlOK(t, sock, "start", "web")
	if !strings.Contains(out, "[1] web ALIVE pid ") || s.exited() {
		t.Fatalf("start after stopping the last server: %q (respawn exited: %v)", out, s.exited())
	}
	s.waitLog(2, msg("ALIVE", "server", 1))
	if err := unix.Kill(s.pidOf(1), unix.SIGTERM); err != nil { // it ends by itself
		t.Fatal(err)
	}
	if code := s.wait(); code != 0 {
		t.Errorf("exit status %d", code)
	}
}

// shutdown stops every server and ends respawn, as SIGTERM does; an
// events client sees the end and says so (it resumes only an upgrade).
func TestControlShutdown(t *testing.T) {
	s, sock := startCtl(t, "--log-level=debug", "{", "@a", selfBin, "helper", "sleep", "}", "{", "@b", selfBin, "helper", "sleep", "}")
	e := startEvents(t, s, sock, false)
	out := ctlOK(t, sock, "shutdown")
	if !strings.HasPrefix(out, "shutting down") {
		t.Errorf("shutdown said %q", out)
	}
	if code := s.wait(); code != 0 {
		t.Errorf("exit status %d", code)
	}
	for i := 1; i <= 2; i++ {
		if s.count(msg("CREMATED", "server", i, "exit", "signal SIGTERM")) != 1 {
			t.Errorf("server %d did not end by SIGTERM", i)
		}
	}
	if s.count(msg("shutting down", "by", "respawnctl")) != 1 {
		t.Error("no log line says who shut respawn down")
	}
	ctlFails(t, sock, "no supervisor at", "list")
	ended := make(chan error, 1)
	go func() { ended <- e.cmd.Wait() }()
	select {
	case err := <-ended:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.HasPrefix(e.err.String(), "respawnctl: events: the supervisor closed the stream") {
			t.Errorf("events client: %v, stderr %q", err, e.err.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the events client did not end with respawn")
	}
}

// reload sends the server's --reload-signal, SIGHUP when not set.
func TestControlReload(t *testing.T) {
	fa, fb := tempFile(t, "a"), tempFile(t, "b")
	s, sock := startCtl(t, "--interval=1h",
		"{", "@a", "--reload-signal=USR1", selfBin, "helper", "signals", fa, "}",
		"{", "@b", selfBin, "helper", "signals", fb, "}",
		"{", "@x", "--retries=0", selfBin, "helper", "exit", "3", "}")
	waitLines(t, fa, 1)
	waitLines(t, fb, 1)
	if out := ctlOK(t, sock, "reload", "a"); !strings.HasSuffix(out, ": sent SIGUSR1\n") {
		t.Errorf("reload a said %q", out)
	}
	if out := ctlOK(t, sock, "reload", "2"); !strings.HasSuffix(out, ": sent SIGHUP\n") {
		t.Errorf("reload 2 said %q", out)
	}
	if got := waitLines(t, fa, 2); got[1] != "SIGUSR1" {
		t.Errorf("a received %v", got)
	}
	if got := waitLines(t, fb, 2); got[1] != "SIGHUP" {
		t.Errorf("b received %v", got)
	}
	s.waitLog(1, msg("BURIED", "server", 3))
	ctlFails(t, sock, "reload x: x is not a running server", "reload", "x")
	if s.count(msg("ALIVE")) != 4 {
		t.Error("a reload restarted something")
	}
	s.stop()
}

// A server may be addressed by its program when exactly one server runs
// it; a name wins over a program; two servers of one program are
// addressed by name only.
func TestControlTargetByProgram(t *testing.T) {
	s, sock := startCtl(t, "--interval=1h",
		"{", "@api", "sleep", "1000", "}",
		"{", "@cron", "sleep", "1001", "}",
		"{", "@web", selfBin, "helper", "sleep", "}",
		"{", "@cat", "true", "}")
	ans, code := ctlJSON(t, sock, "status", "test.test")
	if code != 0 || ans.Status == nil || ans.Status.Name != "web" {
		t.Errorf("status by program: exit %d, %+v", code, ans)
	}
	ctlFails(t, sock, `status sleep: no such server "sleep"`, "status", "sleep")
	if ans, _ := ctlJSON(t, sock, "status", "cat"); ans.Status == nil || ans.Status.Name != "cat" {
		t.Errorf("status cat: %+v", ans)
	}
	ctlFails(t, sock, `status cr0n: no such server "cr0n"; did you mean "cron"?`, "status", "cr0n")
	s.stop()
}

// Tasks are not servers: they are not numbered, counted or logged as
// servers. Reproduces "servers=3 alive=4" and "server=4 name=control".
func TestControlTasksApart(t *testing.T) {
	s, sock := startCtl(t, "{", "@web", selfBin, "helper", "sleep", "}")
	if l := s.waitLog(1, msg("ALIVE", "task", "control")); l["server"] != nil || l["name"] != nil || l["pid"] != nil {
		t.Errorf("the control task's log line: %v", l)
	}
	ans, _ := ctlJSON(t, sock, "dump")
	if d := ans.Dump; d == nil || len(d.Servers) != 1 || d.Counts["alive"] != 1 || len(d.Tasks) != 1 || d.Tasks[0].Index != 0 {
		t.Fatalf("dump: %+v", ans.Dump)
	}
	ctlFails(t, sock, "status 2: no server 2: servers are numbered 1 to 1", "status", "2")
	out := ctlOK(t, sock, "list")
	if !strings.Contains(out, "\n-      control  task    ALIVE") {
		t.Errorf("list:\n%s", out)
	}
	if out := ctlOK(t, sock, "status", "control"); !strings.Contains(out, "index:     -\n") || !strings.Contains(out, "type:      task\n") {
		t.Errorf("status control:\n%s", out)
	}
	s.stop()
}

// A person never sees protocol words: every refusal respawnctl prints is
// one line of plain words, and a refused upgrade does not say "upgrade"
// twice. The same refusal is logged at the same level whichever way it was
// asked: an upgrade by SIGHUP and by respawnctl.
func TestControlWording(t *testing.T) {
	bin := copyBinary(t)
	sock := tempFile(t, "ctl.sock")
	s := startBin(t, bin, "", "--control="+sock, "--interval=1h",
		"{", "@web", selfBin, "helper", "sleep", "}", "{", "@gone", "/no/such/dir/program", "}")
	t.Cleanup(func() { stopIfFailed(s) })
	s.waitLog(1, msg("ALIVE", "task", "control"))
	s.waitLog(1, msg("BURIED", "server", 2))
	writeScript(t, bin, "echo 'it is broken' >&2; exit 1\n")

	var said []string
	for _, args := range [][]string{
		{"status", "webb"}, {"start", "web"}, {"revive", "web"}, {"stop", "control"}, {"signal", "gone", "HUP"},
		{"restart", "nope"}, {"upgrade"}, {"reload", "7"},
	} {
		_, errOut, code := ctl(t, sock, args...)
		if code != 1 || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
		said = append(said, errOut)
	}
	for _, e := range said {
		for _, bad := range []string{"control: bad", "bad request", "bad_request", "upgrade: upgrade:", "respawn: "} {
			if strings.Contains(e, bad) {
				t.Errorf("respawnctl said %q, with %q in it", e, bad)
			}
		}
	}
	raw := dialRaw(t, sock)
	if ans := raw.ask(`{"cmd":"stop","target":"web","wait":"yes"}`); ans.Code != control.CodeBadRequest || strings.HasPrefix(ans.Error, "control") {
		t.Errorf("bad request answered %+v", ans)
	}

	s.signal(unix.SIGHUP)
	s.waitLog(2, msg("respawn: upgrade refused, carrying on"))
	byCtl := s.waitLog(1, msg("respawn: upgrade refused, carrying on"))
	bySig := s.waitLog(2, msg("respawn: upgrade refused, carrying on"))
	if byCtl["level"] != bySig["level"] {
		t.Errorf("refused upgrade logged at %v by respawnctl, at %v by SIGHUP", byCtl["level"], bySig["level"])
	}
	out := ctlOK(t, sock, "list")
	if !strings.Contains(out, "no such file or directory") {
		t.Errorf("list hides why gone was buried:\n%s", out)
	}
	s.stop()
}
