//go:build linux

package test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"respawn/acct"
)

// acctName is a command name of this test's own (at most 15 bytes, the
// kernel's comm), for a link to the test binary: atop and the records
// show it, and nothing else on the machine has it.
func acctName(t *testing.T, prefix string) (name, bin string) {
	t.Helper()
	name = prefix + strconv.Itoa(os.Getpid()%100000)
	bin = filepath.Join(t.TempDir(), name)
	if os.Link(selfBin, bin) != nil {
		copyFile(t, selfBin, bin, 0o755)
	}
	return name, bin
}

// An unmodified atop reads respawn's shadow files: a server that exits
// with status 3 shows in atop's interval as an exited process (state E)
// with exit code 3. Two atop at once both see it; once both have gone
// (their SEM_UNDO gives the clients' count back), respawn removes the
// shadow files and starts again at 0.
func TestAcctAtopReadsShadowFiles(t *testing.T) {
	acctTestLock(t)
	needAtop(t)
	name, bin := acctName(t, "ax")
	s := begin(t, "--acct", "--interval=100ms", "{", bin, "helper", "exit", "3", "300ms", "}")
	s.waitLog(1, msg("acct: process accounting on"))
	exited := func(prg []prgLine) bool {
		for _, l := range prg {
			if l.name == name && l.state == "E" && l.exit == 3 {
				return true
			}
		}
		return false
	}
	if prg := runAtop(t, 2, 2); !exited(prg) {
		t.Fatalf("atop shows no exited %s with exit code 3; its lines for it: %v", name, linesOf(prg, name))
	}
	// atop registers without waiting (IPC_NOWAIT) and holds the public
	// lock until it has read a record: a second atop that finds the lock
	// taken switches its own accounting on. The second starts once the
	// first has registered.
	var wg sync.WaitGroup
	var seen [2]bool
	for i := range seen {
		wg.Add(1)
		go func() {
			defer wg.Done()
			seen[i] = exited(runAtop(t, 2, 2))
		}()
		if i == 0 {
			eventually(t, "the first atop registered", func() bool { return clients(t) == 1 && semVal(t, 1) == 1 })
		}
	}
	wg.Wait()
	if !seen[0] || !seen[1] {
		t.Errorf("two atop at once: each saw the exit: %v", seen)
	}
	first := filepath.Join(acct.DefaultDir, acct.ShadowDirName, "0000000000.paf")
	eventually(t, "the shadow files removed once no atop is left, and 0 started again", func() bool {
		st, err := os.Stat(first)
		return err == nil && st.Size() == 0 && current(acct.DefaultDir) == "0/10000"
	})
	s.stop()
}

func linesOf(prg []prgLine, name string) []prgLine {
	var out []prgLine
	for _, l := range prg {
		if l.name == name {
			out = append(out, l)
		}
	}
	return out
}

// A server that dies of SIGSEGV with a core limit: its DEAD line carries
// what the kernel's accounting says (the signal, a core dumped, killed by
// a signal), and so does the info dump.
func TestAcctForensicsSignal(t *testing.T) {
	acctTestLock(t)
	dir := t.TempDir()
	s := begin(t, "--acct", "--interval=100ms", "{", "--core=unlimited", "--cwd="+dir, "sh", "-c", "sleep 0.3; kill -SEGV $$", "}")
	s.waitLog(1, msg("acct: process accounting on"))
	g := deathAcct(t, s, 1)
	if g["exit"] != "signal SIGSEGV" || g["core"] != true || g["signaled"] != true || !strings.Contains(fmt.Sprint(g["flags"]), "AXSIG") {
		t.Errorf("the death's accounting says %v; want exit \"signal SIGSEGV\", core, signaled and the flag AXSIG", g)
	}
	s.signal(unix.SIGUSR1)
	l := s.waitLog(1, func(l map[string]any) bool { _, dump := l["servers"].([]any); return dump })
	servers := l["servers"].([]any)
	if d, _ := servers[0].(map[string]any)["acct"].(map[string]any); d == nil || d["exit"] != "signal SIGSEGV" || d["core"] != true {
		b, _ := json.Marshal(servers)
		t.Errorf("the dump's server shows no accounting of its SIGSEGV: %s", b)
	}
	s.stop()
}

// deathAcct returns the accounting of server index's first death: on its
// DEAD (or BURIED) line, or on the "accounted" line that follows when the
// record was read later.
func deathAcct(t *testing.T, s *Sup, index int) map[string]any {
	t.Helper()
	l := s.waitLog(1, func(l map[string]any) bool {
		return (l["msg"] == "DEAD" || l["msg"] == "BURIED") && l["server"] == float64(index)
	})
	if g := acctGroup(l); g != nil {
		return g
	}
	return acctGroup(s.waitLog(1, msg("accounted", "server", index)))
}

// A server that burns CPU: its death's accounting shows user and system
// time within 10% of what /proc said an instant before it was killed.
func TestAcctForensicsCPU(t *testing.T) {
	acctTestLock(t)
	s := begin(t, "--acct", "{", "sh", "-c", "while :; do :; done", "}")
	s.waitLog(1, msg("acct: process accounting on"))
	pid := s.pidOf(1)
	var ticks int
	eventually(t, "a second of CPU burnt", func() bool {
		ticks = cpuTicks(t, pid)
		return ticks >= 100
	})
	_ = unix.Kill(pid, unix.SIGKILL)
	g := deathAcct(t, s, 1)
	got := seconds(t, g, "user") + seconds(t, g, "system")
	want := float64(ticks) / 100
	if got < want*0.9 || got > want*1.1 {
		t.Errorf("accounting says %.3fs of CPU, /proc said %.3fs just before the kill", got, want)
	}
	s.stop()
}

// cpuTicks is utime+stime of pid in /proc/PID/stat (clock ticks, 100 a
// second).
func cpuTicks(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	u, _ := strconv.Atoi(f[11])
	sy, _ := strconv.Atoi(f[12])
	return u + sy
}

// stormRecords counts the records of the storm's children (forked by the
// storm, never exec'd). Pids wrap around (pid_max may be 32768) within
// a burst, so a pid can be two children's: the count is the measure.
func stormRecords(recs []acct.Record, storm int) int {
	n := 0
	for _, r := range recs {
		if int(r.PPid) == storm && r.Flags.Fork() {
			n++
		}
	}
	return n
}

// checkStorm fails the test unless the storm's n children have exactly n
// records in the shadow files, waiting for them to be copied: fewer is a
// loss, more a record copied twice.
func checkStorm(t *testing.T, storm, n int) []string {
	t.Helper()
	var names []string
	deadline := time.Now().Add(60 * time.Second)
	for {
		var recs []acct.Record
		recs, names = shadowRecords(t, acct.DefaultDir)
		got := stormRecords(recs, storm)
		if got > n {
			t.Fatalf("%d records of the storm's %d children in the shadow files: some copied twice", got, n)
		}
		if got == n {
			return names
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d records of the storm's %d children in the shadow files after a minute", got, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// 25,000 processes that end in a burst, with a reader registered: three
// shadow files in order, the full ones with exactly 10,000 records each,
// current naming the last, and every process's record there once.
func TestAcctRotation(t *testing.T) {
	acctTestLock(t)
	forkstorm := buildStorm(t)
	s := begin(t, "--acct", "{", "sleep", "1000", "}")
	s.waitLog(1, msg("acct: process accounting on"))
	atopClient(t)
	const n = 25000
	st := startStorm(t, forkstorm, "fork", strconv.Itoa(n))
	st.wait(t)
	names := checkStorm(t, st.cmd.Process.Pid, n)
	if len(names) < 3 {
		t.Fatalf("shadow files %v; want at least three for %d records", names, n)
	}
	for i, name := range names {
		if filepath.Base(name) != fmt10(i) {
			t.Errorf("shadow file #%d is %s; want %s", i, filepath.Base(name), fmt10(i))
		}
		if st, _ := os.Stat(name); i < len(names)-1 && st.Size() != 10000*acct.Size {
			t.Errorf("full shadow file %s holds %d bytes; want %d", name, st.Size(), 10000*acct.Size)
		}
	}
	if want := strconv.Itoa(len(names)-1) + "/10000"; current(acct.DefaultDir) != want {
		t.Errorf("current says %q; want %q", current(acct.DefaultDir), want)
	}
	s.stop()
}

func fmt10(i int) string {
	s := strconv.Itoa(i)
	return strings.Repeat("0", 10-len(s)) + s + ".paf"
}

// A live upgrade in the middle of a burst: every record, before, during
// and after the exec, is in the shadow files once.
func TestAcctUpgradeDuringBurst(t *testing.T) {
	acctTestLock(t)
	forkstorm := buildStorm(t)
	s := begin(t, "--acct", "{", "sleep", "1000", "}")
	s.waitLog(1, msg("acct: process accounting on"))
	atopClient(t)
	const n = 20000
	st := startStorm(t, forkstorm, "fork", strconv.Itoa(n))
	time.Sleep(100 * time.Millisecond) // not for correctness: the upgrade lands inside the burst
	s.signal(unix.SIGHUP)
	s.waitLog(1, msg("respawn upgraded", "generation", 1))
	st.wait(t)
	checkStorm(t, st.cmd.Process.Pid, n)
	if s.count(msg("acct: process accounting on", "inherited", true)) != 1 {
		t.Errorf("the new image did not take the accounting over")
	}
	s.stop()
}

// SIGTERM ends the accounting: the source stops growing (accounting is
// off, not merely the file gone) and the files are removed.
func TestAcctStopSwitchesOff(t *testing.T) {
	acctTestLock(t)
	s := begin(t, "--acct", "{", "sleep", "1000", "}")
	s.waitLog(1, msg("acct: process accounting on"))
	src, err := os.Open(filepath.Join(acct.DefaultDir, acct.SourceName))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if code := s.stop(); code != 0 {
		t.Errorf("exit status %d after SIGTERM", code)
	}
	for _, p := range []string{acct.SourceName, acct.ShadowDirName} {
		if _, err := os.Lstat(filepath.Join(acct.DefaultDir, p)); err == nil {
			t.Errorf("%s left behind", p)
		}
	}
	before, _ := src.Stat()
	if err := acct.ProbeExit(); err != nil {
		t.Fatal(err)
	}
	after, _ := src.Stat()
	if after.Size() != before.Size() {
		t.Errorf("the old source grew from %d to %d bytes after respawn ended: accounting left on", before.Size(), after.Size())
	}
}

// As PID 1 of a pid namespace (a container) the task says why in one
// line and is buried; the servers run.
func TestAcctBuriedInPidNamespace(t *testing.T) {
	acctTestLock(t)
	s, init := launchPID1(t, "--log-format=json", "--control=none", "--acct", "{", "sleep", "1000", "}")
	l := s.waitLog(1, msg("BURIED", "task", "acct"))
	if !strings.Contains(fmt.Sprint(l["exit"]), "initial pid namespace") {
		t.Errorf("the task was buried with %q; want the pid namespace as the reason", l["exit"])
	}
	s.waitLog(1, msg("ALIVE", "server", 1))
	if n := s.count(msg("DEAD", "task", "acct")); n != 0 {
		t.Errorf("the task was tried %d more times", n)
	}
	if err := unix.Kill(init, unix.SIGTERM); err != nil {
		t.Fatal(err)
	}
	s.waitLog(1, msg("CREMATED", "server", 1))
	s.wait()
}
