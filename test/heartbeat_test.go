//go:build linux

package test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The shell and the Go example clients, run as servers, register and
// beat; respawnctl dump shows them in the heartbeat section, and the
// JSON dump counts their beats.
func TestHeartbeatClientsBeat(t *testing.T) {
	dir := heartbeatDir(t)
	args := append([]string{"--heartbeat-dir=" + dir}, shellGroup(t, dir, "sh-web", 100, 2, "kill", -1)...)
	args = append(args, "{", "@go-web", "env", "TMPDIR="+t.TempDir(), goClient(t), "-dir", dir, "-name", "go-web",
		"-period", "100ms", "-action", "log", "}")
	s, sock := startCtl(t, args...)
	shPid, goPid := waitAlivePid(s, 1), waitAlivePid(s, 2)
	if l := registered(s, shPid); l["name"] != "sh-web" || l["action"] != "kill" || l["period"] != "100ms" {
		t.Errorf("shell client registered as %v", l)
	}
	if l := registered(s, goPid); l["name"] != "go-web" || l["action"] != "log" {
		t.Errorf("Go client registered as %v", l)
	}
	eventually(t, "both beat five times", func() bool {
		regs := registrants(heartbeatSection(t, s))
		return len(regs) == 2 && regs[shPid]["beats"].(float64) >= 5 && regs[goPid]["beats"].(float64) >= 5
	})
	out := ctlOK(t, sock, "dump")
	for _, re := range []string{
		`(?m)^heartbeat: state=ALIVE dir=".*" registrants=2 registered=2 refused=0 beats=\d+ missed=0$`,
		fmt.Sprintf(`(?m)^  heartbeat pid=%d name=sh-web action=kill period=100ms misses=2 beats=\d+ missed=0 since=\S+ late=false$`, shPid),
		fmt.Sprintf(`(?m)^  heartbeat pid=%d name=go-web action=log period=100ms misses=2 beats=\d+ missed=0`, goPid),
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("respawnctl dump has no line matching %s:\n%s", re, out)
		}
	}
	if n := s.count(msg("heartbeat: deadline missed")); n != 0 {
		t.Errorf("%d deadlines missed by clients that beat", n)
	}
	s.stop()
}

// waitAlivePid waits for the server's ALIVE line and returns its pid.
func waitAlivePid(s *Sup, index int) int {
	s.t.Helper()
	return int(s.waitLog(1, msg("ALIVE", "server", index))["pid"].(float64))
}

// A server that stops beating is killed (SIGKILL through its pidfd) once
// its deadline passes, logged with how late its last beat is; it dies and
// is restarted by the usual path, and registers again; its old
// registration file is removed.
func TestHeartbeatMissKillsAndRestarts(t *testing.T) {
	dir := heartbeatDir(t)
	s := begin(t, append([]string{"--interval=100ms", "--heartbeat-dir=" + dir}, shellGroup(t, dir, "quiet", 100, 1, "kill", 3)...)...)
	first := waitAlivePid(s, 1)
	registered(s, first)
	miss := s.waitLog(1, msg("heartbeat: deadline missed", "pid", first))
	late, err := time.ParseDuration(fmt.Sprint(miss["late"]))
	if err != nil || late < 200*time.Millisecond || miss["action"] != "kill" || miss["name"] != "quiet" {
		t.Errorf("miss logged as %v (late %v, want at least the grace of 200ms)", miss, late)
	}
	dead := s.waitLog(1, msg("DEAD", "server", 1, "pid", first))
	if dead["exit"] != "signal SIGKILL" {
		t.Errorf("the server died of %v, want SIGKILL", dead["exit"])
	}
	second := int(s.waitLog(2, msg("ALIVE", "server", 1))["pid"].(float64))
	registered(s, second)
	s.waitLog(1, msg("heartbeat: registrant exited, unregistered", "pid", first))
	if files, _ := filepath.Glob(filepath.Join(dir, fmt.Sprintf(".phm_%d_*", first))); len(files) != 0 {
		t.Errorf("the dead registrant's file is left: %v", files)
	}
	if n := s.count(msg("heartbeat: deadline missed", "pid", first)); n != 1 {
		t.Errorf("the action fired %d times for one miss", n)
	}
	s.stop()
}

// Registrations that do not authenticate are refused with AHM's lines,
// and renamed with "invalid" in front, never deleted, never registered.
func TestHeartbeatForgedRefused(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string) (pid int, file string)
		line  string // AHM's line, with %d for the pid
	}{
		{"pid of another uid", func(t *testing.T, dir string) (int, string) {
			fdir := filepath.Join(t.TempDir(), "nobody")
			if err := os.Mkdir(fdir, 0o777); err != nil {
				t.Fatal(err)
			}
			for _, d := range []string{filepath.Dir(fdir), filepath.Dir(filepath.Dir(fdir))} {
				if err := os.Chmod(d, 0o755); err != nil { // nobody reaches the fifo
					t.Fatal(err)
				}
			}
			fifo := makeFIFO(t, fdir)
			if err := os.Chmod(fifo, 0o666); err != nil {
				t.Fatal(err)
			}
			pid := holdFIFO(t, fifo, "setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups")
			return pid, writeRegistration(t, dir, pid, registration(fifo, "kill"))
		}, "heartbeat: process %d not authenticated or does not exist"},
		{"fifo not opened by the pid", func(t *testing.T, dir string) (int, string) {
			fifo := makeFIFO(t, t.TempDir())
			pid := spawnProc(t, "sleep", "30").Process.Pid
			return pid, writeRegistration(t, dir, pid, registration(fifo, "kill"))
		}, "heartbeat: process %d not authenticated or does not exist"},
		{"fifo opened by another pid too", func(t *testing.T, dir string) (int, string) {
			fifo := makeFIFO(t, t.TempDir())
			pid := holdFIFO(t, fifo)
			holdFIFO(t, fifo)
			return pid, writeRegistration(t, dir, pid, registration(fifo, "kill"))
		}, "heartbeat: process %d not authenticated or does not exist"},
		{"registration a symlink", func(t *testing.T, dir string) (int, string) {
			fifo := makeFIFO(t, t.TempDir())
			pid := holdFIFO(t, fifo)
			target := filepath.Join(t.TempDir(), "reg")
			if err := os.WriteFile(target, []byte(registration(fifo, "kill")), 0o600); err != nil {
				t.Fatal(err)
			}
			name := fmt.Sprintf(".phm_%d_link", pid)
			if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
			return pid, name
		}, "heartbeat: registration file invalid for PID %d"},
		{"fifo a symlink", func(t *testing.T, dir string) (int, string) {
			fifo := makeFIFO(t, t.TempDir())
			pid := holdFIFO(t, fifo)
			link := filepath.Join(t.TempDir(), "link")
			if err := os.Symlink(fifo, link); err != nil {
				t.Fatal(err)
			}
			return pid, writeRegistration(t, dir, pid, registration(link, "kill"))
		}, "heartbeat: process %d not authenticated or does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := heartbeatDir(t)
			s := begin(t, "--heartbeat-dir="+dir)
			s.waitLog(1, msg("ALIVE", "task", "heartbeat"))
			pid, file := tt.setup(t, dir)
			s.waitLog(1, msg(fmt.Sprintf(tt.line, pid), "pid", pid, "file", file))
			s.waitLog(1, msg(fmt.Sprintf("heartbeat: renaming invalid registration file for PID %d", pid), "file", file))
			if fileExists(dir, file) || !fileExists(dir, "invalid"+file) {
				t.Errorf("%s not renamed invalid%s", file, file)
			}
			h := heartbeatSection(t, s)
			if len(registrants(h)) != 0 || h["refused"].(float64) != 1 {
				t.Errorf("heartbeat section %v, want no registrant and one refused", h)
			}
			if pid > 0 && !alive(pid) {
				t.Errorf("the forged registration's pid %d was killed", pid)
			}
			s.stop()
		})
	}
}

// A registration read while half written is read again once: completed
// then, it registers; still broken, it is renamed.
func TestHeartbeatHalfWrittenRetried(t *testing.T) {
	dir := heartbeatDir(t)
	s := begin(t, "--log-level=debug", "--heartbeat-dir="+dir)
	s.waitLog(1, msg("ALIVE", "task", "heartbeat"))
	fifo := makeFIFO(t, t.TempDir())
	pid := holdFIFO(t, fifo)
	body := registration(fifo, "log")
	name := fmt.Sprintf(".phm_%d_half", pid)
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(body[:len(body)/2]); err != nil {
		t.Fatal(err)
	}
	s.waitLog(1, msg("heartbeat: registration file unreadable, tried again once", "file", name)) // the scan's read
	if _, err := f.WriteString(body[len(body)/2:]); err != nil {
		t.Fatal(err)
	}
	f.Close()
	registered(s, pid)

	other := holdFIFO(t, makeFIFO(t, t.TempDir()))
	broken := writeRegistration(t, dir, other, "fifo=/x\nperiod=")
	s.waitLog(1, msg(fmt.Sprintf("heartbeat: registration file invalid for PID %d", other), "file", broken))
	if !fileExists(dir, "invalid"+broken) {
		t.Errorf("%s not renamed", broken)
	}
	if n := s.count(msg("heartbeat: registration file unreadable, tried again once")); n != 2 {
		t.Errorf("%d first tries logged, want one per file", n)
	}
	s.stop()
}

// A second registration for a PID: the older stands, the newer is renamed.
func TestHeartbeatDuplicate(t *testing.T) {
	dir := heartbeatDir(t)
	s := begin(t, "--heartbeat-dir="+dir)
	s.waitLog(1, msg("ALIVE", "task", "heartbeat"))
	fifo := makeFIFO(t, t.TempDir())
	pid := holdFIFO(t, fifo)
	first := writeRegistration(t, dir, pid, registration(fifo, "log"))
	registered(s, pid)
	second := writeRegistration(t, dir, pid, registration(fifo, "kill"))
	s.waitLog(1, msg(fmt.Sprintf("heartbeat: duplicate registration for PID %d, the older stands", pid), "file", second))
	s.waitLog(1, msg(fmt.Sprintf("heartbeat: renaming invalid registration file for PID %d", pid), "file", second))
	if !fileExists(dir, first) || !fileExists(dir, "invalid"+second) {
		t.Errorf("want %s kept and %s renamed", first, second)
	}
	regs := registrants(heartbeatSection(t, s))
	if len(regs) != 1 || regs[pid]["action"] != "log" {
		t.Errorf("registrants %v, want the first registration's", regs)
	}
	s.stop()
}

// A directory others may write to without the sticky bit buries the task
// with the reason; the servers run.
func TestHeartbeatUnsafeDirBuried(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	s := begin(t, "--heartbeat-dir="+dir, "{", selfBin, "helper", "sleep", "}")
	l := s.waitLog(1, msg("BURIED", "task", "heartbeat"))
	if !strings.Contains(fmt.Sprint(l["exit"]), "writable by others and not sticky") {
		t.Errorf("buried with %v", l["exit"])
	}
	waitAlivePid(s, 1)
	s.stop()
}

// 500 registrants beating every 100 ms (testdata/beater.c, run by the
// test): none misses a deadline over a few seconds, and a live upgrade in
// the middle keeps every registration (its FIFO and pidfd cross execve)
// and fires no false miss. They register 4 misses (a grace of 500 ms):
// on these shared 2-core machines, 500 processes starting, and the other
// tenants, stall a process now and then for more than 300 ms.
func TestHeartbeat500AcrossUpgrade(t *testing.T) {
	const n = 500
	dir := heartbeatDir(t)
	s := begin(t, "--heartbeat-dir="+dir)
	s.waitLog(1, msg("ALIVE", "task", "heartbeat"))
	bin, tmp := beater(t), t.TempDir()
	pids := make([]int, n)
	for i := range pids {
		c := exec.Command(bin, dir, "c"+strconv.Itoa(i), "100", "4", "kill", tmp)
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		pids[i] = c.Process.Pid
		t.Cleanup(func() { _ = c.Process.Kill(); _ = c.Wait() })
	}
	deadline := time.Now().Add(60 * time.Second)
	for len(registrants(heartbeatSection(t, s))) < n {
		if time.Now().After(deadline) {
			t.Fatalf("fewer than %d registered", n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	before := beatsAfter(t, s, nil, 2*time.Second)
	s.upgrade(1)
	s.waitLog(n, msg("heartbeat: registrant taken over"))
	beatsAfter(t, s, before, 2*time.Second)
	if got := s.count(msg("heartbeat: deadline missed")); got != 0 {
		t.Errorf("%d deadlines missed by registrants beating every period", got)
	}
	for _, p := range pids {
		if !alive(p) {
			t.Errorf("registrant %d was killed", p)
		}
	}
	s.stop()
}

// beatsAfter lets registrants beat for d, then returns every registrant's
// beats from the dump, failing the test if any did not beat more than in
// before (when given) or missed.
func beatsAfter(t *testing.T, s *Sup, before map[int]float64, d time.Duration) map[int]float64 {
	t.Helper()
	time.Sleep(d) // the window in which a false miss would show
	out := map[int]float64{}
	for pid, r := range registrants(heartbeatSection(t, s)) {
		out[pid] = r["beats"].(float64)
		if r["missed"].(float64) != 0 || r["late"] == true {
			t.Errorf("registrant %d missed: %v", pid, r)
		}
		if before != nil && out[pid] <= before[pid] {
			t.Errorf("registrant %d: %v beats, %v before", pid, out[pid], before[pid])
		}
	}
	if before != nil && len(out) != len(before) {
		t.Errorf("%d registrants, %d before", len(out), len(before))
	}
	return out
}

// A registrant's deadline rides across a live upgrade: a server that
// stops beating after the upgrade is killed by the new image and
// restarted, and one that beats on is left alone.
func TestHeartbeatDeadlineAcrossUpgrade(t *testing.T) {
	dir := heartbeatDir(t)
	args := append([]string{"--interval=100ms", "--heartbeat-dir=" + dir}, shellGroup(t, dir, "quits", 100, 4, "kill", 30)...)
	s := begin(t, append(args, shellGroup(t, dir, "beats", 100, 4, "kill", -1)...)...)
	quits, beats := waitAlivePid(s, 1), waitAlivePid(s, 2)
	registered(s, quits)
	registered(s, beats)
	s.upgrade(1)
	s.waitLog(1, msg("heartbeat: registrant taken over", "pid", quits))
	s.waitLog(1, msg("heartbeat: registrant taken over", "pid", beats))
	s.waitLog(1, msg("heartbeat: deadline missed", "pid", quits))
	if dead := s.waitLog(1, msg("DEAD", "server", 1, "pid", quits)); dead["exit"] != "signal SIGKILL" {
		t.Errorf("the silent server died of %v, want SIGKILL", dead["exit"])
	}
	registered(s, int(s.waitLog(2, msg("ALIVE", "server", 1))["pid"].(float64)))
	if n := s.count(msg("heartbeat: deadline missed", "pid", beats)); n != 0 || !alive(beats) {
		t.Errorf("the beating server: %d misses, alive %t", n, alive(beats))
	}
	s.stop()
}
