//go:build linux

package test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

func init() {
	moreHelpers["corruptexec"] = corruptExec
}

// corruptExec plays a new image's launcher that hands over garbage: it
// puts junk in a sealed memfd and execs "REAL --re-exec --state-fd=N ARGS".
// The header declares 2^31 array elements that are not there.
func corruptExec(args []string) int {
	real := args[0]
	fd, err := unix.MemfdCreate("junk", unix.MFD_ALLOW_SEALING)
	if err != nil {
		return 96
	}
	junk := []byte{0xdd, 0x7f, 0xff, 0xff, 0xff, 'j', 'u', 'n', 'k'}
	if _, err := unix.Write(fd, junk); err != nil {
		return 96
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_WRITE|unix.F_SEAL_SHRINK|unix.F_SEAL_GROW); err != nil {
		return 96
	}
	argv := append([]string{real, "--re-exec", "--state-fd=" + strconv.Itoa(fd)}, args[1:]...)
	return 95 + boolInt(unix.Exec(real, argv, os.Environ()) != nil)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// copyBinary puts a copy of respawn in a new directory, so that a test can
// replace, remove or break it on disk.
func copyBinary(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "respawn")
	b, err := os.ReadFile(respawnBin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// writeScript writes an executable shell script at path, atomically.
func writeScript(t *testing.T, path, body string) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// upgradeUnusable makes the next live upgrade of s, which runs bin, hand
// the new image a snapshot it cannot use, sends SIGHUP, and returns the new
// image's log line saying it recovered from the command line and /proc.
func upgradeUnusable(s *Sup, bin string) map[string]any {
	s.t.Helper()
	writeScript(s.t, bin, fmt.Sprintf(`case "$1" in
--re-exec) shift 2; exec %s helper corruptexec %s "$@";;
esac
exec %s "$@"
`, selfBin, respawnBin, respawnBin))
	s.signal(unix.SIGHUP)
	return s.waitLog(1, msg("respawn: upgrade snapshot unusable; recovered from the command line and /proc"))
}

// upgrade sends SIGHUP and waits for the new image to say it runs as
// generation gen.
func (s *Sup) upgrade(gen int) {
	s.t.Helper()
	s.signal(unix.SIGHUP)
	s.waitLog(1, msg("respawn upgraded", "generation", gen))
}

// dump asks for the info dump and returns the n-th one.
func (s *Sup) dump(n int) map[string]any {
	s.t.Helper()
	s.signal(unix.SIGUSR1)
	return s.waitLog(n, msg("info dump"))
}

func dumpServer(d map[string]any, index int) map[string]any {
	return d["servers"].([]any)[index-1].(map[string]any)
}

// 100 upgrades in a row while servers crash and restart under them: every
// server's pid, state and restart count then match what happened, and no
// child is orphaned or left a zombie (the harness checks that).
func TestUpgradeHundredTimes(t *testing.T) {
	s := start(t, "--retries=0", "--interval=100ms",
		"{", selfBin, "helper", "sleep", "}",
		"{", selfBin, "helper", "exit", "1", "250ms", "}",
		"{", "false", "}") // starts in a millisecond: buried under any load
	s.waitLog(1, msg("BURIED", "server", 3))
	kills := 0
	for gen := 1; gen <= 100; gen++ {
		if gen%10 == 0 {
			// Killed after less than 1 s, server 1 is paced: its
			// respawn may still be due, across the upgrades since.
			// Its last ALIVE line is a live process: a count of
			// ALIVE lines would take a line written twice by an
			// upgrade's log carry for a start.
			eventually(t, "server 1 running", func() bool { return alive(s.pidOf(1)) })
			pid := s.pidOf(1)
			waitLived(t, s, 1, 100e6)
			if err := unix.Kill(pid, unix.SIGKILL); err != nil {
				t.Fatal(err)
			}
			kills++
			s.waitLog(kills, msg("DEAD", "server", 1))
		}
		s.upgrade(gen)
	}
	eventually(t, "server 1 back from its last, paced, death", func() bool { return alive(s.pidOf(1)) })
	d := s.dump(1)
	if d["generation"] != float64(100) {
		t.Errorf("generation %v after 100 upgrades", d["generation"])
	}
	// The dump is one line in the same stream as the transitions: compare
	// it with the transitions logged before it.
	before := s.logsBefore(1, msg("info dump"))
	for i := 1; i <= 3; i++ {
		srv := dumpServer(d, i)
		restarts := countIn(before, msg("ALIVE", "server", i)) - 1
		if got := int(srv["restarts"].(float64)); got != restarts {
			t.Errorf("server %d: restarts %d in the dump, %d in the log", i, got, restarts)
		}
		if want := lastState(before, i); srv["state"] != want {
			t.Errorf("server %d: state %v in the dump, %s in the log", i, srv["state"], want)
		}
	}
	if got := countIn(before, msg("DEAD", "server", 1)); got != kills {
		t.Errorf("server 1 died %d times, killed %d times", got, kills)
	}
	if st := dumpServer(d, 3)["state"]; st != "BURIED" {
		t.Errorf("server 3 is %v after the upgrades, want BURIED", st)
	}
	if p := dumpServer(d, 1)["pid"]; p != float64(s.pidOf(1)) {
		t.Errorf("server 1: pid %v in the dump, %d in the log", p, s.pidOf(1))
	}
	s.stop()
}

// logsBefore returns the log lines before the n-th one matching m.
func (s *Sup) logsBefore(n int, m Match) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, l := range s.logs {
		if m(l) {
			if n--; n == 0 {
				return append([]map[string]any(nil), s.logs[:i]...)
			}
		}
	}
	return nil
}

// countIn counts the transitions in logs that m matches, each once: the
// log's carry across a live upgrade may write a line again rather than
// lose it (README, "Captured output"), and a transition's line
// is the same line, to its time and pid.
func countIn(logs []map[string]any, m Match) int {
	seen := map[string]bool{}
	for _, l := range logs {
		if m(l) {
			seen[fmt.Sprint(l["time"], l["msg"], l["server"], l["pid"])] = true
		}
	}
	return len(seen)
}

// lastState is the state the last transition of the server logged.
func lastState(logs []map[string]any, index int) string {
	for i := len(logs) - 1; i >= 0; i-- {
		l := logs[i]
		if l["server"] == float64(index) && l["from"] != nil {
			return l["msg"].(string)
		}
	}
	return ""
}

// An upgrade to a different build replaced on disk (a new inode, as a
// package upgrade does) runs the new build with the same servers.
func TestUpgradeToDifferentBuild(t *testing.T) {
	bin := copyBinary(t)
	s := startBin(t, bin, "", "{", selfBin, "helper", "sleep", "}")
	before := s.waitLog(1, msg("ALIVE", "server", 1))
	var st1, st2 unix.Stat_t
	_ = unix.Stat(bin, &st1)
	build := exec.Command("go", "build", "-ldflags", "-X main.version=v2-test", "-o", bin+".new", "../cmd/respawn")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building v2: %v\n%s", err, out)
	}
	if err := os.Rename(bin+".new", bin); err != nil {
		t.Fatal(err)
	}
	_ = unix.Stat(bin, &st2)
	if st1.Ino == st2.Ino {
		t.Fatal("the new build has the old inode")
	}
	s.upgrade(1)
	if l := s.waitLog(1, msg("respawn upgraded")); l["version"] != "v2-test" {
		t.Errorf("upgraded to version %v, want v2-test", l["version"])
	}
	d := s.dump(1)
	if p := dumpServer(d, 1)["pid"]; p != before["pid"] {
		t.Errorf("server pid %v after the upgrade, was %v", p, before["pid"])
	}
	s.stop()
}

// An upgrade that cannot happen is refused with one log line, and nothing
// is lost: same pids, same generation, still supervising.
func TestUpgradeRefused(t *testing.T) {
	cases := []struct {
		name   string
		break_ func(t *testing.T, bin string)
	}{
		{"missing binary", func(t *testing.T, bin string) { os.Remove(bin) }},
		{"not executable", func(t *testing.T, bin string) { os.Chmod(bin, 0o644) }},
		{"exits at once", func(t *testing.T, bin string) { writeScript(t, bin, "exit 0\n") }},
		{"fails its check", func(t *testing.T, bin string) { writeScript(t, bin, "echo 'cannot read'; exit 1\n") }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bin := copyBinary(t)
			s := startBin(t, bin, "", "--interval=50ms", "{", selfBin, "helper", "sleep", "}")
			first := s.waitLog(1, msg("ALIVE", "server", 1))
			c.break_(t, bin)
			s.signal(unix.SIGHUP)
			s.waitLog(1, msg("respawn: upgrade refused, carrying on"))
			d := s.dump(1)
			if d["generation"] != float64(0) || dumpServer(d, 1)["pid"] != first["pid"] {
				t.Errorf("after a refused upgrade: generation %v, pid %v (was %v)", d["generation"], dumpServer(d, 1)["pid"], first["pid"])
			}
			pid := int(first["pid"].(float64))
			waitLived(t, s, 1, 50e6)
			unix.Kill(pid, unix.SIGKILL)
			s.waitLog(1, msg("DEAD", "server", 1))
			s.waitLog(1, msg("ALIVE", "server", 1, "from", "DEAD"))
			s.stop()
		})
	}
}

// A snapshot that cannot be decoded: the new image rebuilds from the
// command line and the children in /proc, adopts the running servers
// (same pids, not restarted), logs what was lost, and keeps supervising.
func TestUpgradeCorruptSnapshot(t *testing.T) {
	bin := copyBinary(t)
	s := startBin(t, bin, "", "--interval=50ms",
		"{", selfBin, "helper", "sleep", "}",
		"{", selfBin, "helper", "record", filepath.Join(t.TempDir(), "rec"), "--initial-spawn", "}")
	p1 := s.waitLog(1, msg("ALIVE", "server", 1))["pid"]
	p2 := s.waitLog(1, msg("ALIVE", "server", 2))["pid"]
	l := upgradeUnusable(s, bin)
	if l["adopted"] != float64(2) {
		t.Errorf("adopted %v servers, want 2", l["adopted"])
	}
	d := s.dump(1)
	if dumpServer(d, 1)["pid"] != p1 || dumpServer(d, 2)["pid"] != p2 {
		t.Errorf("pids after recovery %v %v, want %v %v", dumpServer(d, 1)["pid"], dumpServer(d, 2)["pid"], p1, p2)
	}
	waitLived(t, s, 1, 50e6)
	unix.Kill(int(p1.(float64)), unix.SIGKILL)
	s.waitLog(1, msg("ALIVE", "server", 1, "from", "DEAD"))
	s.stop()
}

// slowPreflight makes bin a launcher whose pre-flight check writes its pid
// to the file begun, then waits until the file go exists, so that a test
// can act while the supervisor is in the middle of an upgrade. It returns
// the two files.
func slowPreflight(t *testing.T, bin string) (begun, goOn string) {
	dir := t.TempDir()
	begun, goOn = filepath.Join(dir, "begun"), filepath.Join(dir, "go")
	writeScript(t, bin, fmt.Sprintf(`case "$1" in
--upgrade-check=*) echo $$ > %s.new; mv %s.new %s; while [ ! -e %s ]; do sleep 0.01; done;;
esac
exec %s "$@"
`, begun, begun, begun, goOn, respawnBin))
	return begun, goOn
}

func waitFile(t *testing.T, path string) {
	t.Helper()
	eventually(t, path+" exists", func() bool { _, err := os.Stat(path); return err == nil })
}

func touch(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

// Supervision goes on while the new binary's pre-flight check runs: a
// server killed meanwhile is respawned, a SIGUSR2 revives and a SIGUSR1
// dumps at once, by the old image; then the upgrade goes through with a
// fresh snapshot (the new pid, the revival). Reproduces the defect where
// the check ran on the event loop and all of that waited for it.
func TestUpgradeWindowSignals(t *testing.T) {
	bin := copyBinary(t)
	s := startBin(t, bin, "", "--retries=0", "--interval=1s",
		"{", selfBin, "helper", "sleep", "}",
		"{", selfBin, "helper", "exit", "3", "}")
	s.waitLog(1, msg("BURIED", "server", 2))
	pid := s.pidOf(1)
	waitLived(t, s, 1, 1e9)
	begun, goOn := slowPreflight(t, bin)
	s.signal(unix.SIGHUP)
	waitFile(t, begun)
	unix.Kill(pid, unix.SIGKILL)
	s.waitLog(1, msg("ALIVE", "server", 1, "from", "DEAD"))
	s.signal(unix.SIGUSR2)
	s.waitLog(1, msg("ALIVE", "server", 2, "from", "BURIED"))
	if d := s.dump(1); d["generation"] != float64(0) {
		t.Errorf("the dump asked for during the check came from generation %v, want 0", d["generation"])
	}
	respawned := s.pidOf(1)
	touch(t, goOn)
	s.waitLog(1, msg("respawn upgraded", "generation", 1))
	d := s.dump(2)
	if got := dumpServer(d, 1)["pid"]; got != float64(respawned) {
		t.Errorf("server 1 has pid %v after the upgrade, want %d, the one respawned during the check", got, respawned)
	}
	if n := s.count(msg("DEAD", "server", 1, "pid", pid)); n != 1 {
		t.Errorf("the death of pid %d was seen %d times", pid, n)
	}
	s.stop()
}

// A SIGTERM while the pre-flight check runs cancels the upgrade: the check
// is killed and reaped, everything stops once, and no new image runs.
func TestUpgradeWindowTerm(t *testing.T) {
	bin := copyBinary(t)
	s := startBin(t, bin, "", "{", selfBin, "helper", "sleep", "}", "{", selfBin, "helper", "sleep", "}")
	s.waitLog(1, msg("ALIVE", "server", 2))
	begun, _ := slowPreflight(t, bin)
	s.signal(unix.SIGHUP)
	check := waitPidFile(t, begun)
	s.signal(unix.SIGTERM)
	if code := s.wait(); code != 0 {
		t.Errorf("exit status %d after SIGTERM, want 0", code)
	}
	if !gone(check) {
		t.Errorf("the pre-flight check (pid %d) outlived the stop: %s", check, cmdline(check))
	}
	if n := s.count(msg("upgrade cancelled: shutting down")); n != 1 {
		t.Errorf("%d log lines say the upgrade was cancelled, want 1", n)
	}
	if n := s.count(msg("respawn upgraded")); n != 0 {
		t.Error("a new image ran after the stop")
	}
	for i := 1; i <= 2; i++ {
		if n := s.count(msg("CREMATED", "server", i)); n != 1 {
			t.Errorf("server %d cremated %d times, want once", i, n)
		}
	}
}

// Two stop signals during an upgrade stay two: the second kills at once,
// as it does outside an upgrade. Reproduces the defect where the signals
// queued while the upgrade ran were folded into one, so a server that
// ignores SIGTERM kept respawn waiting for the whole --stop-timeout.
func TestUpgradeTwoStops(t *testing.T) {
	bin := copyBinary(t)
	ready := tempFile(t, "ready")
	s := startBin(t, bin, "", "--stop-timeout=1h", "{", selfBin, "helper", "ignoreterm", ready, "}")
	waitPidFile(t, ready)
	begun, _ := slowPreflight(t, bin)
	s.signal(unix.SIGHUP)
	waitPidFile(t, begun)
	s.signal(unix.SIGTERM)
	// Two at once would be one: the kernel and the Go runtime each keep
	// one pending instance of a signal not yet taken.
	s.waitLog(1, msg("shutting down"))
	s.signal(unix.SIGTERM)
	s.waitLog(1, msg("second shutdown signal: killing what is left"))
	if code := s.wait(); code != 1 {
		t.Errorf("exit status %d, want 1 (the server was SIGKILLed)", code)
	}
	s.waitLog(1, msg("CREMATED", "server", 1, "exit", "signal SIGKILL"))
	if n := s.count(msg("respawn upgraded")); n != 0 {
		t.Error("a new image ran after the stop")
	}
}
