//go:build linux

package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// A --ready server holds the groups after it until it says READY=1, here
// with Debian's systemd-notify; the dump then shows it ready with its
// STATUS=.
func TestNotifyReadyGatesSystemdNotify(t *testing.T) {
	file := filepath.Join(t.TempDir(), "web")
	s := begin(t, "{", "@db", "--ready=20s", "sh", "-c", "sleep 0.3; systemd-notify --ready --status='serving 3 clients'; exec sleep 600", "}",
		"{", "@web", selfBin, "helper", "record", file, "}")
	s.waitLog(1, msg("start-up waits for the server to be ready", "name", "db"))
	s.waitLog(1, msg("ready", "name", "db"))
	s.waitLog(1, msg("ALIVE", "name", "web"))
	if web, ready := s.logIndex(msg("ALIVE", "name", "web")), s.logIndex(msg("ready", "name", "db")); web < ready {
		t.Errorf("web started (log line %d) before db was ready (line %d)", web, ready)
	}
	n := dumpServer(s.dump(1), 1)["notify"].(map[string]any)
	if n["ready"] != true || n["status"] != "serving 3 clients" {
		t.Errorf("db's sd_notify state in the dump: %v", n)
	}
	s.stop()
}

// Without READY=1 within its --ready timeout, start-up goes on with a
// warning.
func TestNotifyReadyTimeout(t *testing.T) {
	s := begin(t, "{", "@db", "--ready=300ms", selfBin, "helper", "sleep", "}", "{", "@web", selfBin, "helper", "sleep", "}")
	s.waitLog(1, msg("start-up goes on without the server ready", "name", "db", "why", "no READY=1 within 300ms"))
	s.waitLog(1, msg("ALIVE", "name", "web"))
	if n := dumpServer(s.dump(1), 1)["notify"].(map[string]any); n["ready"] != false {
		t.Errorf("db shown ready without READY=1: %v", n)
	}
	s.stop()
}

// A raw datagram written the way python's sdnotify writes it marks the
// server ready, and respawnctl list shows READY and STATUS. respawn's own
// NOTIFY_SOCKET and WATCHDOG_USEC (systemd's, when it runs respawn) are
// not passed on: the server's NOTIFY_SOCKET is respawn's socket.
func TestNotifyRawClientList(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "@respawn-test-not-systemd")
	t.Setenv("WATCHDOG_USEC", "1000000")
	file := filepath.Join(t.TempDir(), "app")
	s, sock := startCtl(t, "{", "@app", selfBin, "helper", "sdnotify", file, `READY=1\nSTATUS=raw client`, "}")
	s.waitLog(1, msg("ready", "name", "app"))
	out := ctlOK(t, sock, "list")
	rows := strings.Split(strings.TrimSpace(out), "\n")
	if !regexp.MustCompile(`^INDEX .* LAST-EXIT +READY +STATUS +COMMAND$`).MatchString(rows[0]) ||
		!regexp.MustCompile(`^1 +app +server +ALIVE .* yes +raw client +`).MatchString(rows[1]) {
		t.Errorf("list:\n%s", out)
	}
	pid := s.pidOf(1)
	if got := serverEnv(pid, "NOTIFY_SOCKET"); !strings.HasPrefix(got, "@respawn/notify/") {
		t.Errorf("the server's NOTIFY_SOCKET is %q, want respawn's own socket", got)
	}
	if got := serverEnv(pid, "WATCHDOG_USEC"); got != "" {
		t.Errorf("the server inherited respawn's WATCHDOG_USEC=%s", got)
	}
	if out := ctlOK(t, sock, "status", "app"); !regexp.MustCompile(`(?m)^ready: +yes$`).MatchString(out) || !regexp.MustCompile(`(?m)^status: +raw client$`).MatchString(out) {
		t.Errorf("status:\n%s", out)
	}
	s.stop()
}

// A message from a process that is none of the servers' (the test
// itself, and a systemd-notify the test runs) is ignored: the gated
// group does not start.
func TestNotifyUnrelatedIgnored(t *testing.T) {
	s := begin(t, "--log-level=debug", "{", "@db", "--ready=60s", selfBin, "helper", "sleep", "}", "{", "@web", selfBin, "helper", "sleep", "}")
	s.waitLog(1, msg("ALIVE", "name", "db"))
	addr := serverEnv(s.pidOf(1), "NOTIFY_SOCKET")
	if addr == "" {
		t.Fatal("the server has no NOTIFY_SOCKET")
	}
	if err := sdnotifyRaw(addr, "READY=1"); err != nil {
		t.Fatal(err)
	}
	s.waitLog(1, msg("notify: message from no server's process, ignored", "sender", os.Getpid()))
	cmd := exec.Command("systemd-notify", "--ready")
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+addr)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("systemd-notify: %v: %s", err, out)
	}
	s.waitLog(1, msg("notify: message from no server's process, ignored", "sender", cmd.Process.Pid))
	if s.count(msg("ready")) != 0 || s.count(msg("ALIVE", "name", "web")) != 0 {
		t.Error("a message from an unrelated process made the server ready")
	}
	s.stop()
}

// A --watchdog server that stops sending WATCHDOG=1 is sent SIGABRT and
// restarted; while it sends them it is left alone.
func TestNotifyWatchdogMissed(t *testing.T) {
	file := filepath.Join(t.TempDir(), "dog")
	pings := selfBin + " helper sdnotify " + file + " WATCHDOG=1 sleep:100ms WATCHDOG=1 sleep:100ms WATCHDOG=1 sleep:100ms WATCHDOG=1 exit"
	s := begin(t, "{", "@dog", "--watchdog=2s", "sh", "-c", "ulimit -c 0; "+pings+"; exec sleep 600", "}")
	abort := s.waitLog(1, msg("watchdog: no WATCHDOG=1 in time: SIGABRT", "name", "dog"))
	if sent := strings.Count(strings.Join(lines(file), "\n"), "sent"); sent < 4 {
		t.Errorf("SIGABRT after %d of the 4 pings", sent)
	}
	dead := s.waitLog(1, msg("DEAD", "name", "dog"))
	if dead["exit"] != "signal SIGABRT" || dead["pid"] != abort["pid"] {
		t.Errorf("the death after the watchdog: %v", dead)
	}
	s.waitLog(1, msg("ALIVE", "name", "dog", "from", "DEAD", "restarts", 1))
	s.stop()
}

// MAINPID= from a forking server (systemd-notify --pid) makes its
// daemon the main process: the server's first process exiting is no
// death, and the daemon's death is, and restarts it.
func TestNotifyMainPid(t *testing.T) {
	file := filepath.Join(t.TempDir(), "daemon")
	s := begin(t, "{", "@forking", "sh", "-c", "setsid sleep 600 & echo $! >> "+file+"; systemd-notify --pid=$! --ready; exit 0", "}")
	daemon := waitPidFile(t, file)
	s.waitLog(1, msg("main pid changed (MAINPID=)", "name", "forking", "pid", daemon))
	s.waitLog(1, msg("ready", "name", "forking"))
	eventually(t, "the first process reaped", func() bool { return gone(s.pidOf(1)) })
	if in := dumpServer(s.dump(1), 1); in["pid"] != float64(daemon) || in["state"] != "ALIVE" {
		t.Fatalf("after MAINPID=%d the server is %v", daemon, in)
	}
	killWait(t, daemon)
	dead := s.waitLog(1, msg("DEAD", "name", "forking"))
	if dead["pid"] != float64(daemon) || dead["exit"] != "signal SIGKILL" {
		t.Errorf("the daemon's death: %v", dead)
	}
	s.waitLog(1, msg("ALIVE", "name", "forking", "from", "DEAD"))
	s.stop()
}

// A live upgrade keeps what a server said (READY=1, STATUS=) and its
// watchdog's deadline: the new image sends the SIGABRT the old one had
// armed, and the restarted server is given the same socket. The server
// sends its one message itself and lives on: a sender that exits at
// once may be reaped by its parent before respawn reads its message,
// and then cannot be placed (see README).
func TestNotifyUpgradeKeeps(t *testing.T) {
	file := filepath.Join(t.TempDir(), "db")
	s := begin(t, "{", "@db", "--ready", "--watchdog=4s", selfBin, "helper", "sdnotify", file, `READY=1\nSTATUS=carried\nWATCHDOG=1`, "}",
		"{", "@web", selfBin, "helper", "sleep", "}")
	s.waitLog(1, msg("ready", "name", "db"))
	before := dumpServer(s.dump(1), 1)["notify"].(map[string]any)
	s.upgrade(1)
	after := dumpServer(s.dump(2), 1)["notify"].(map[string]any)
	if after["ready"] != true || after["status"] != "carried" || after["watchdog"] != "4s" {
		t.Errorf("after the upgrade db's sd_notify state is %v, was %v", after, before)
	}
	if d := dueDiff(t, before, after); d > 100*time.Millisecond {
		t.Errorf("the watchdog deadline moved by %s across the upgrade: %v, then %v", d, before["watchdog_due"], after["watchdog_due"])
	}
	s.waitLog(1, msg("watchdog: no WATCHDOG=1 in time: SIGABRT", "name", "db"))
	if up, abort := s.logIndex(msg("respawn upgraded")), s.logIndex(msg("watchdog: no WATCHDOG=1 in time: SIGABRT")); abort < up {
		t.Errorf("the watchdog fired before the upgrade (log lines %d, %d)", abort, up)
	}
	s.waitLog(1, msg("ALIVE", "name", "db", "from", "DEAD"))
	eventually(t, "the restarted db wrote its socket", func() bool { return len(startLines(file)) == 2 })
	if l := startLines(file); l[0] != l[1] {
		t.Errorf("NOTIFY_SOCKET changed across the upgrade: %q", l)
	}
	s.stop()
}

// startLines are the NOTIFY_SOCKET values the sdnotify helper wrote to
// file, one per start.
func startLines(file string) []string {
	var out []string
	for _, l := range lines(file) {
		if _, sock, ok := strings.Cut(l, " "); ok {
			out = append(out, sock)
		}
	}
	return out
}

// dueDiff is how far apart the watchdog deadlines of two dumps are.
func dueDiff(t *testing.T, a, b map[string]any) time.Duration {
	t.Helper()
	ta, err1 := time.Parse(time.RFC3339Nano, a["watchdog_due"].(string))
	tb, err2 := time.Parse(time.RFC3339Nano, b["watchdog_due"].(string))
	if err1 != nil || err2 != nil {
		t.Fatalf("watchdog_due: %v, %v", err1, err2)
	}
	return max(ta.Sub(tb), tb.Sub(ta))
}

// Many servers pinging at once: every message is taken (the loop reads
// the socket in batches, and the waiter never loses a wake-up), and no
// watchdog fires while they ping at 20 times their timeout's rate. The
// watchdog runs from READY=1 (--ready), as systemd's from the end of
// start-up, whatever the start of a race-built helper costs; each --ready
// holds the next server until it is ready, so they start one by one and
// ping together.
func TestNotifyManyPingers(t *testing.T) {
	const servers, pings = 20, 40
	dir := t.TempDir()
	var args []string
	for i := 0; i < servers; i++ {
		file := filepath.Join(dir, "s"+itoa(i))
		args = append(args, "{", "--ready=60s", "--watchdog=1s", selfBin, "helper", "sdnotify", file,
			"READY=1", "ping:"+itoa(pings)+":50ms", `WATCHDOG_USEC=86400000000\nSTATUS=done`, "}")
	}
	s := begin(t, args...)
	s.waitLog(1, msg("ALIVE", "server", servers))
	n := 1
	eventually(t, "every server done pinging", func() bool {
		d := s.dump(n)
		n++
		for i := 1; i <= servers; i++ {
			if nt, _ := dumpServer(d, i)["notify"].(map[string]any); nt == nil || nt["status"] != "done" {
				return false
			}
		}
		if got := d["notify"].(map[string]any)["received"].(float64); got != servers*(pings+2) {
			t.Errorf("%v messages taken, want %d", got, servers*(pings+2))
		}
		return true
	})
	if c := s.count(msg("watchdog: no WATCHDOG=1 in time: SIGABRT")); c != 0 {
		t.Errorf("%d watchdogs fired while their servers pinged", c)
	}
	s.stop()
}

// MAINPID= naming a process that is not the server's (here the test
// itself, respawn's parent) is refused: the server keeps its pid, and
// the process named is never signalled as the server.
func TestNotifyMainPidRefused(t *testing.T) {
	file := filepath.Join(t.TempDir(), "app")
	s := begin(t, "{", "@app", selfBin, "helper", "sdnotify", file, "MAINPID="+itoa(os.Getpid())+`\nREADY=1`, "}")
	s.waitLog(1, msg("ready", "name", "app"))
	refused := s.waitLog(1, msg("notify: MAINPID refused: not a process of the server's", "name", "app"))
	if refused["mainpid"] != float64(os.Getpid()) {
		t.Errorf("refused line: %v", refused)
	}
	if in := dumpServer(s.dump(1), 1); in["pid"] != float64(s.pidOf(1)) {
		t.Errorf("after a refused MAINPID= the server's pid is %v, want %d", in["pid"], s.pidOf(1))
	}
	s.stop()
}
