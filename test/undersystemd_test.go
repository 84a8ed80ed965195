//go:build linux

package test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestUnderSystemdReady: under systemd (NOTIFY_SOCKET, a path here), respawn
// says READY=1 once every server has been started, not before: when it
// comes, every server is already respawn's child. It carries the counts,
// and STOPPING=1 comes when a stop begins.
func TestUnderSystemdReady(t *testing.T) {
	n := listenSystemd(t, filepath.Join(t.TempDir(), "notify"), true)
	const servers = 40
	var args []string
	for i := 0; i < servers; i++ {
		args = append(args, "{", "sleep", "1000", "}")
	}
	s := beginUnderSystemd(t, n, []string{"NOTIFY_SOCKET=" + n.addr}, false, args...)
	i := n.wait(0, "READY=1")
	m := n.all()[i]
	if i != 0 {
		t.Errorf("READY=1 came after %q", n.all()[0].text)
	}
	if m.kids < servers {
		t.Errorf("READY=1 came with %d of the %d servers started", m.kids, servers)
	}
	want := fmt.Sprintf("STATUS=%d servers: %d alive, 0 dead, 0 buried, 0 cremated", servers, servers)
	if !systemdHasLine(m.text, want) {
		t.Errorf("READY=1 came as %q, want it with %q", m.text, want)
	}
	s.signal(unix.SIGTERM)
	n.wait(i+1, "STOPPING=1")
	if code := s.wait(); code != 0 {
		t.Errorf("exit status %d", code)
	}
	if k := n.count(0, "READY=1"); k != 1 {
		t.Errorf("READY=1 sent %d times", k)
	}
}

// TestUnderSystemdStatus: STATUS= follows the servers' states (an abstract
// socket here): a server buried shows as buried, then revived as alive.
func TestUnderSystemdStatus(t *testing.T) {
	n := listenSystemd(t, fmt.Sprintf("@respawn-test-%d-status", os.Getpid()), true)
	flag := tempFile(t, "flag")
	s := beginUnderSystemd(t, n, []string{"NOTIFY_SOCKET=" + n.addr}, false, "--retries=0",
		"{", "@up", selfBin, "helper", "sleep", "}",
		"{", "@flaky", "/bin/sh", "-c", "test -e "+flag+" && exec sleep 300; exit 1", "}")
	i := n.wait(0, "STATUS=2 servers: 1 alive, 0 dead, 1 buried, 0 cremated")
	s.waitLog(1, msg("BURIED", "name", "flaky"))
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	s.signal(unix.SIGUSR2)
	n.wait(i+1, "STATUS=2 servers: 2 alive, 0 dead, 0 buried, 0 cremated")
	s.stop()
}

// TestUnderSystemdWatchdog: with WATCHDOG_USEC (and WATCHDOG_PID respawn's
// own pid), WATCHDOG=1 comes every half period while respawn is healthy;
// it stops while a --watchdog-require server is buried, so that systemd's
// watchdog fires, and resumes when the server is revived.
func TestUnderSystemdWatchdog(t *testing.T) {
	n := listenSystemd(t, fmt.Sprintf("@respawn-test-%d-watchdog", os.Getpid()), true)
	const period = 1500 * time.Millisecond
	s := beginUnderSystemd(t, n, []string{"NOTIFY_SOCKET=" + n.addr, "WATCHDOG_USEC=1500000"}, true,
		"--retries=0", "--watchdog-require=web", "{", "@web", selfBin, "helper", "sleep", "}")
	s.waitLog(1, msg("sd_notify: notifying systemd", "watchdog", "1.5s"))
	first := n.wait(0, "READY=1")
	eventually(t, "4 keepalives", func() bool { return n.count(first, "WATCHDOG=1") >= 4 })
	n.petGaps(first, period)

	killWait(t, s.pidOf(1))
	s.waitLog(1, msg("BURIED", "name", "web"))
	stopped := s.waitLog(1, msg("sd_notify: watchdog keepalives stopped: systemd's watchdog will fire"))
	if r, _ := stopped["reason"].(string); !strings.Contains(r, "web") {
		t.Errorf("keepalives stopped for %q", r)
	}
	at, err := time.Parse(time.RFC3339Nano, stopped["time"].(string))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(period + period/2) // three keepalives would be due in this time
	before := len(n.all())
	for _, m := range n.all() {
		if systemdHasLine(m.text, "WATCHDOG=1") && m.sent > at.UnixNano() {
			t.Errorf("a keepalive %v after they stopped, with the required server buried", time.Duration(m.sent-at.UnixNano()))
		}
	}

	s.signal(unix.SIGUSR2)
	s.waitLog(1, msg("sd_notify: watchdog keepalives resumed"))
	n.wait(before, "WATCHDOG=1")
	s.stop()
}

// TestUnderSystemdWatchdogOtherPid: WATCHDOG_PID naming another process means
// the watchdog is not respawn's: no keepalives.
func TestUnderSystemdWatchdogOtherPid(t *testing.T) {
	n := listenSystemd(t, filepath.Join(t.TempDir(), "notify"), true)
	s := beginUnderSystemd(t, n, []string{"NOTIFY_SOCKET=" + n.addr, "WATCHDOG_USEC=100000", "WATCHDOG_PID=1"}, false,
		"{", selfBin, "helper", "sleep", "}")
	s.waitLog(1, msg("sd_notify: notifying systemd", "watchdog", "0s"))
	i := n.wait(0, "READY=1")
	time.Sleep(300 * time.Millisecond) // six keepalives would be due in this time
	if k := n.count(i, "WATCHDOG=1"); k != 0 {
		t.Errorf("%d keepalives for another process's watchdog", k)
	}
	s.stop()
}

// TestUnderSystemdUpgrade: a live upgrade (SIGHUP) says RELOADING=1 with
// MONOTONIC_USEC, then the new image READY=1; the keepalives go on within
// the period across it; the new image still has NOTIFY_SOCKET, and no
// server, of either image, ever sees respawn's notification variables.
func TestUnderSystemdUpgrade(t *testing.T) {
	n := listenSystemd(t, filepath.Join(t.TempDir(), "notify"), true)
	envFile := tempFile(t, "env")
	const period = 1500 * time.Millisecond
	s := beginUnderSystemd(t, n, []string{"NOTIFY_SOCKET=" + n.addr, "WATCHDOG_USEC=1500000"}, true,
		"{", "@env", selfBin, "helper", "systemdenv", envFile, "}")
	first := n.wait(0, "READY=1")
	eventually(t, "2 keepalives", func() bool { return n.count(first, "WATCHDOG=1") >= 2 })

	before := systemdMono()
	s.upgrade(1)
	r := n.wait(first, "RELOADING=1")
	m := n.all()[r]
	usec, err := strconv.ParseInt(systemdValue(m.text, "MONOTONIC_USEC"), 10, 64)
	if err != nil || usec*1000 < before-1000 || usec*1000 > m.mono {
		t.Errorf("RELOADING=1 came as %q: want MONOTONIC_USEC between %d and %d µs", m.text, before/1000, m.mono/1000)
	}
	ready := n.wait(r+1, "READY=1")
	eventually(t, "2 keepalives from the new image", func() bool { return n.count(ready, "WATCHDOG=1") >= 2 })
	n.petGaps(first, period)
	environ, _ := os.ReadFile("/proc/" + strconv.Itoa(s.Pid) + "/environ")
	if !strings.Contains("\x00"+string(environ)+"\x00", "\x00NOTIFY_SOCKET="+n.addr+"\x00") {
		t.Errorf("the new image's environment lacks NOTIFY_SOCKET")
	}

	killWait(t, s.pidOf(1)) // started again by the new image
	s.waitLog(1, msg("ALIVE", "name", "env", "restarts", 1))
	for i, l := range waitLines(t, envFile, 2) {
		if !ownNotifySocket(l) {
			t.Errorf("server started by image %d had %s, want respawn's own NOTIFY_SOCKET only", i+1, l)
		}
	}
	s.stop()
}

// TestUnderSystemdUpgradeFails: when a live upgrade's execve fails after
// its pre-flight check passed (here the new binary is a script whose
// interpreter is gone by then), RELOADING=1 is followed by READY=1 from
// the old image, which goes on supervising.
func TestUnderSystemdUpgradeFails(t *testing.T) {
	n := listenSystemd(t, filepath.Join(t.TempDir(), "notify"), true)
	bin, checker := copyBinary(t), copyBinary(t)
	interp := filepath.Join(t.TempDir(), "sh")
	sh, err := os.ReadFile("/bin/sh")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(interp, sh, 0o755); err != nil {
		t.Fatal(err)
	}
	s := beginBinUnderSystemd(t, bin, n, []string{"NOTIFY_SOCKET=" + n.addr}, false,
		"{", "sleep", "1000", "}")
	first := n.wait(0, "READY=1")
	script := fmt.Sprintf("#!%s\ncase \"$1\" in\n--upgrade-check=*) %s \"$@\"; rc=$?; rm -f %s; exit $rc;;\nesac\nexec %s \"$@\"\n",
		interp, checker, interp, checker)
	if err := os.WriteFile(bin+".new", []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(bin+".new", bin); err != nil {
		t.Fatal(err)
	}
	s.signal(unix.SIGHUP)
	l := s.waitLog(1, msg("respawn: upgrade refused, carrying on"))
	if e, _ := l["err"].(string); !strings.Contains(e, "no such file") {
		t.Errorf("refused for %q, want the execve's ENOENT", e)
	}
	r := n.wait(first, "RELOADING=1")
	n.wait(r+1, "READY=1")
	pid := s.pidOf(1)
	killWait(t, pid)
	s.waitLog(1, msg("ALIVE", "server", 1, "restarts", 1))
	if code := s.stop(); code != 0 {
		t.Errorf("exit status %d", code)
	}
}

// TestUnderSystemdAbsent: without NOTIFY_SOCKET respawn sends nothing, says
// nothing of it, and does not pass WATCHDOG_USEC on to its servers.
func TestUnderSystemdAbsent(t *testing.T) {
	envFile := tempFile(t, "env")
	s := beginUnderSystemd(t, nil, []string{"WATCHDOG_USEC=100000"}, false,
		"{", "@env", selfBin, "helper", "systemdenv", envFile, "}")
	if l := waitLines(t, envFile, 1)[0]; !ownNotifySocket(l) {
		t.Errorf("the server had %s, want respawn's own NOTIFY_SOCKET only", l)
	}
	killWait(t, s.pidOf(1))
	s.waitLog(1, msg("ALIVE", "name", "env", "restarts", 1))
	if code := s.stop(); code != 0 {
		t.Errorf("exit status %d", code)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.logs {
		if m, _ := l["msg"].(string); strings.HasPrefix(m, "sd_notify") {
			t.Errorf("without NOTIFY_SOCKET: %v", l)
		}
	}
}

// TestUnderSystemdUnread: a notification socket whose reader stopped reading
// (its queue full), one that nobody binds, and one that is no address
// never block or end respawn: a failure is logged once, servers are
// restarted as ever, and the stop is prompt; a socket read again is
// delivered to again.
func TestUnderSystemdUnread(t *testing.T) {
	t.Run("full", func(t *testing.T) {
		n := listenSystemd(t, filepath.Join(t.TempDir(), "notify"), false)
		n.fill()
		s := beginUnderSystemd(t, nil, []string{"NOTIFY_SOCKET=" + n.addr, "WATCHDOG_USEC=20000"}, false,
			"{", selfBin, "helper", "sleep", "}")
		s.waitLog(1, msg("sd_notify: not delivered (further failures are not logged until one is)"))
		for i := 1; i <= 3; i++ { // each about 10 failed keepalives apart, at least
			time.Sleep(100 * time.Millisecond)
			killWait(t, s.pidOf(1))
			s.waitLog(1, msg("ALIVE", "restarts", i))
		}
		if k := s.count(msg("sd_notify: not delivered (further failures are not logged until one is)")); k != 1 {
			t.Errorf("the failure was logged %d times", k)
		}
		if n.drain() == 0 {
			t.Fatal("nothing waited in the socket")
		}
		s.waitLog(1, msg("sd_notify: delivered again"))
		if code := s.stop(); code != 0 {
			t.Errorf("exit status %d", code)
		}
	})
	for _, tc := range []struct{ name, addr, log string }{
		{"nobody", filepath.Join(t.TempDir(), "none", "notify"), "sd_notify: not delivered (further failures are not logged until one is)"},
		{"no address", "notify", "sd_notify: NOTIFY_SOCKET unusable: not notifying systemd"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := beginUnderSystemd(t, nil, []string{"NOTIFY_SOCKET=" + tc.addr, "WATCHDOG_USEC=20000"}, false,
				"{", selfBin, "helper", "sleep", "}")
			s.waitLog(1, msg(tc.log))
			time.Sleep(100 * time.Millisecond) // a few keepalives due
			killWait(t, s.pidOf(1))
			s.waitLog(1, msg("ALIVE", "restarts", 1))
			if k := s.count(msg(tc.log)); k != 1 {
				t.Errorf("logged %d times", k)
			}
			if code := s.stop(); code != 0 {
				t.Errorf("exit status %d", code)
			}
		})
	}
}

// ownNotifySocket reports whether a systemdenv line holds respawn's own
// sd_notify socket for its servers and none of systemd's variables.
func ownNotifySocket(l string) bool {
	v, ok := strings.CutPrefix(l, "NOTIFY_SOCKET=@respawn/notify/")
	return ok && !strings.Contains(v, " ")
}

// TestUnderSystemdUnservableTaskPets: a task buried at once because it
// cannot work here (a --heartbeat-dir writable by all, not sticky) does
// not stop the keepalives: no restart of respawn would mend it, and
// counting it would have systemd kill respawn at every start.
func TestUnderSystemdUnservableTaskPets(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	n := listenSystemd(t, fmt.Sprintf("@respawn-test-%d-unservable", os.Getpid()), true)
	s := beginUnderSystemd(t, n, []string{"NOTIFY_SOCKET=" + n.addr, "WATCHDOG_USEC=600000"}, true,
		"--heartbeat-dir="+dir, "{", "@web", selfBin, "helper", "sleep", "}")
	s.waitLog(1, msg("BURIED", "task", "heartbeat"))
	first := n.wait(0, "READY=1")
	eventually(t, "4 keepalives with the task buried", func() bool { return n.count(first, "WATCHDOG=1") >= 4 })
	if k := s.count(msg("sd_notify: watchdog keepalives stopped: systemd's watchdog will fire")); k != 0 {
		t.Errorf("keepalives stopped %d times for a task that cannot work here", k)
	}
	if code := s.stop(); code != 0 {
		t.Errorf("exit status %d", code)
	}
}
