//go:build linux

package test

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// startTimes reads the start times (ns since the epoch) a server wrote to
// file, one a line, as `date +%s%N` prints them.
func startTimes(t *testing.T, file string, n int) []time.Time {
	t.Helper()
	var out []time.Time
	for _, l := range waitLines(t, file, n) {
		ns, err := strconv.ParseInt(strings.TrimSpace(l), 10, 64)
		if err != nil {
			t.Fatalf("%s: %q: %v", file, l, err)
		}
		out = append(out, time.Unix(0, ns))
	}
	return out
}

// killServer SIGKILLs the latest process of server index, as its last
// ALIVE line names it.
func killServer(t *testing.T, s *Sup, index int) {
	t.Helper()
	pid := s.pidOf(index)
	if pid <= 0 {
		t.Fatalf("server %d has no pid yet", index)
	}
	killWait(t, pid)
}

// stamping is a shell server that appends its start time to file and
// dies at once with exit 3.
func stamping(file string) []string {
	return []string{"sh", "-c", "date +%s%N >> " + file + "; exit 3"}
}

// A crash-looper is retried --retries times (3 by default), each retry
// further from the last death than the one before (100, 200, 400 ms at
// least), and buried at the fourth fast death in a row. The log says
// which retry each start is and when the next is due, list shows the
// retry and the wait, status and the BURIED line say how to revive it,
// and a revive starts a fresh count. (Before, the first fast death
// buried it.)
func TestRetryThenBury(t *testing.T) {
	file := tempFile(t, "starts")
	args := append([]string{"--interval=1h", "{", "@crash"}, stamping(file)...)
	s, sock := startCtl(t, append(args, "}")...)
	row := regexp.MustCompile(`(?m)^1 +crash +server +DEAD +- +- +[0-2] +([1-3])/3 in \d+(\.\d+)?m?s +exit 3 `)
	eventually(t, "list showing crash DEAD, waiting for a retry", func() bool {
		return row.MatchString(ctlOK(t, sock, "list"))
	})
	buried := s.waitLog(1, msg("BURIED", "server", 1, "exit", "exit 3", "retries", 3))
	if rv, _ := buried["revive"].(string); rv != "respawnctl revive crash, or SIGUSR2 to respawn" {
		t.Errorf("BURIED line says revive %q", rv)
	}
	for k := 1; k <= 3; k++ {
		want := strconv.Itoa(k) + "/3"
		d := s.waitLog(k, msg("DEAD", "server", 1, "exit", "exit 3"))
		if d["retry"] != want || d["respawn_in"] == nil {
			t.Errorf("DEAD line %d: retry %v, respawn_in %v; want retry %s and a time", k, d["retry"], d["respawn_in"], want)
		}
		s.waitLog(1, msg("ALIVE", "server", 1, "from", "DEAD", "retry", want))
	}
	if n := s.count(msg("ALIVE", "server", 1)); n != 4 {
		t.Errorf("crash started %d times, want 4: the first start and 3 retries", n)
	}
	starts := startTimes(t, file, 4)
	for k, least := range []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond} {
		if gap := starts[k+1].Sub(starts[k]); gap < least {
			t.Errorf("retry %d started %v after the start before it, want at least %v", k+1, gap, least)
		}
	}
	in := list(t, sock)["crash"]
	if in.State != "BURIED" || in.Retry != 3 || in.Retries != 3 || in.NextStart != "" || !strings.HasPrefix(in.Revive, "respawnctl revive crash") {
		t.Errorf("buried crash listed as %+v", in)
	}
	status := ctlOK(t, sock, "status", "crash")
	for _, re := range []string{`(?m)^retry: +3/3$`, `(?m)^revive: +respawnctl revive crash, or SIGUSR2 to respawn$`} {
		if !regexp.MustCompile(re).MatchString(status) {
			t.Errorf("status lacks %s:\n%s", re, status)
		}
	}

	ctlOK(t, sock, "revive", "crash")
	if l := s.waitLog(1, msg("ALIVE", "server", 1, "from", "BURIED")); l["retry"] != nil {
		t.Errorf("revived with retry %v, want a fresh count", l["retry"])
	}
	s.waitLog(2, msg("DEAD", "server", 1, "retry", "1/3"))
	s.waitLog(2, msg("BURIED", "server", 1, "retries", 3))
	if n := s.count(msg("ALIVE", "server", 1)); n != 8 {
		t.Errorf("crash started %d times in all, want 8: 4 before and 4 after the revive", n)
	}
	s.stop()
}

// The case: two SIGKILLs 0.3 s apart to a server with the default
// flags (--interval=5, --retries=3) leave it running, on its second retry,
// where they used to bury it. With --retries=0 the first buries it, as
// before.
func TestTwoKillsNotBuried(t *testing.T) {
	s, sock := startCtl(t, "{", "@redis", "sleep", "1000", "}")
	first := attr(s.waitLog(1, msg("ALIVE", "server", 1)), "pid")
	killed := time.Now()
	killWait(t, first)
	second := attr(s.waitLog(1, msg("ALIVE", "server", 1, "from", "DEAD", "retry", "1/3")), "pid")
	eventually(t, "0.3 s since the first kill", func() bool { return time.Since(killed) >= 300*time.Millisecond })
	killWait(t, second)
	third := attr(s.waitLog(1, msg("ALIVE", "server", 1, "from", "DEAD", "retry", "2/3")), "pid")
	if in := list(t, sock)["redis"]; in.State != "ALIVE" || in.Pid != third || in.Retry != 2 || in.Retries != 3 {
		t.Errorf("after two kills: %+v, want ALIVE as pid %d on retry 2/3", in, third)
	}
	if !regexp.MustCompile(`(?m)^1 +redis +server +ALIVE +` + strconv.Itoa(third) + ` +\S+ +2 +2/3 +signal SIGKILL `).MatchString(ctlOK(t, sock, "list")) {
		t.Errorf("list does not show redis on retry 2/3:\n%s", ctlOK(t, sock, "list"))
	}
	if n := s.count(msg("BURIED")); n != 0 {
		t.Errorf("%d BURIED lines", n)
	}
	s.stop()

	old := begin(t, "--retries=0", "{", "@redis", "sleep", "1000", "}")
	killWait(t, attr(old.waitLog(1, msg("ALIVE", "server", 1)), "pid"))
	old.waitLog(1, msg("BURIED", "server", 1, "exit", "signal SIGKILL"))
	old.stop()
}

// A life that reaches --interval gives a server its retries back: with
// --retries=1, a fast death is retried, a late one respawns at once, and
// the next fast death is retried again instead of burying it; the one
// after that buries it.
func TestRetryCountResets(t *testing.T) {
	s := begin(t, "--retries=1", "--interval=2s", "{", "sleep", "1000", "}")
	kill := func() { t.Helper(); killServer(t, s, 1) }
	s.waitLog(1, msg("ALIVE", "server", 1))
	kill()
	s.waitLog(1, msg("ALIVE", "server", 1, "from", "DEAD", "retry", "1/1"))
	waitLived(t, s, 1, 2e9)
	kill()
	late := s.waitLog(2, msg("DEAD", "server", 1))
	if late["retry"] != nil || late["respawn_in"] != nil {
		t.Errorf("a late death waits for a retry: %v", late)
	}
	if l := s.waitLog(3, msg("ALIVE", "server", 1)); l["retry"] != nil {
		t.Errorf("respawned after a late death with retry %v, want none", l["retry"])
	}
	kill()
	s.waitLog(2, msg("DEAD", "server", 1, "retry", "1/1")) // without the reset: BURIED
	s.waitLog(2, msg("ALIVE", "server", 1, "from", "DEAD", "retry", "1/1"))
	kill()
	s.waitLog(1, msg("BURIED", "server", 1, "exit", "signal SIGKILL", "retries", 1))
	if n := s.count(msg("ALIVE", "server", 1)); n != 4 {
		t.Errorf("started %d times, want 4", n)
	}
	s.stop()
}

// --retries on the command line is every server's default, and a group's
// own --retries= overrides it either way; 0 buries at the first fast
// death, as respawn always did.
func TestRetriesPerServer(t *testing.T) {
	dir := t.TempDir()
	s := begin(t, "--retries=0", "--interval=1h",
		"{", "@zero", "sh", "-c", "exit 3", "}",
		"{", "@two", "--retries=2", "sh", "-c", "exit 4", "}")
	s.waitLog(1, msg("BURIED", "name", "zero", "exit", "exit 3"))
	s.waitLog(1, msg("BURIED", "name", "two", "exit", "exit 4", "retries", 2))
	s.stop()
	args := append([]string{"--interval=1h", "{", "@none", "--retries=0", "sh", "-c", "exit 5", "}", "{", "@default"},
		stamping(filepath.Join(dir, "default"))...)
	s2 := begin(t, append(args, "}")...)
	s2.waitLog(1, msg("BURIED", "name", "none", "exit", "exit 5"))
	s2.waitLog(1, msg("BURIED", "name", "default", "exit", "exit 3", "retries", 3))
	s2.stop()
	for _, c := range []struct {
		s      *Sup
		name   string
		starts int
	}{{s, "zero", 1}, {s, "two", 3}, {s2, "none", 1}, {s2, "default", 4}} {
		if n := c.s.count(msg("ALIVE", "name", c.name)); n != c.starts {
			t.Errorf("%s started %d times, want %d", c.name, n, c.starts)
		}
	}
}

// A server killed again and again waits longer for each retry; a live
// upgrade while it waits keeps both its place and its count: the new
// image starts it when its delay is up (not at once, not from 100 ms
// again) as the same retry, and the next fast death is the next retry.
func TestRetryAcrossUpgrade(t *testing.T) {
	s, sock := startCtl(t, "--retries=6", "--interval=1h", "{", "@web", "sleep", "1000", "}")
	s.waitLog(1, msg("ALIVE", "server", 1))
	for k := 1; k <= 4; k++ {
		killServer(t, s, 1)
		s.waitLog(1, msg("ALIVE", "server", 1, "from", "DEAD", "retry", strconv.Itoa(k)+"/6"))
	}
	killServer(t, s, 1)
	dead := s.waitLog(1, msg("DEAD", "server", 1, "retry", "5/6")) // its retry waits 1.6 s at least
	s.signal(unix.SIGHUP)
	s.waitLog(1, msg("respawn upgraded", "generation", 1))
	if in := list(t, sock)["web"]; in.State == "DEAD" && (in.Retry != 5 || in.NextStart == "") {
		t.Errorf("after the upgrade, waiting: %+v, want retry 5 and a next start", in)
	}
	back := s.waitLog(1, msg("ALIVE", "server", 1, "from", "DEAD", "retry", "5/6"))
	if !s.after(msg("respawn upgraded"), msg("ALIVE", "server", 1, "from", "DEAD", "retry", "5/6")) {
		t.Error("the retry due 1.6 s after the death came before the upgrade ended")
	}
	if gap := logTime(t, back).Sub(logTime(t, dead)); gap < 1500*time.Millisecond {
		t.Errorf("retry 5 started %v after the death, across the upgrade; its delay was 1.6 s at least", gap)
	}
	killServer(t, s, 1)
	s.waitLog(1, msg("DEAD", "server", 1, "retry", "6/6"))
	s.stop()
}

// An operator's start of a server waiting for its retry starts it at once
// and keeps its count; a live upgrade right after goes through. Reproduces
// the defect where a DEAD server started before its respawn was due kept
// that due time: until the timer fired, its snapshot record was invalid
// ("a respawn due in state 1") and every upgrade was refused.
func TestRetryStartThenUpgrade(t *testing.T) {
	ready := tempFile(t, "ready")
	s, sock := startCtl(t, "--retries=9", "--interval=1h",
		"{", "@crash", "sh", "-c", "test -e "+ready+" && exec sleep 1000; exit 3", "}")
	s.waitLog(1, msg("DEAD", "server", 1, "retry", "4/9")) // waits 0.8 s at least
	if err := os.WriteFile(ready, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if out := ctlOK(t, sock, "start", "crash"); !strings.Contains(out, "crash ALIVE") {
		t.Fatalf("start said %q", out)
	}
	s.signal(unix.SIGHUP)
	s.waitLog(1, msg("respawn upgraded", "generation", 1))
	if n := s.count(msg("respawn: upgrade snapshot unusable; recovered from the command line and /proc")); n != 0 {
		t.Error("the upgrade's snapshot was unusable")
	}
	if in := list(t, sock)["crash"]; in.State != "ALIVE" || in.Retry != 4 || in.NextStart != "" {
		t.Errorf("after start and upgrade: %+v, want ALIVE on retry 4", in)
	}
	if n := s.count(msg("ALIVE", "server", 1)); n != 5 {
		t.Errorf("crash started %d times, want 5: the timer must not start it again", n)
	}
	s.stop()
}
