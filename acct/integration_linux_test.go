//go:build linux

package acct

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

const nobody = 65534

// endedProcesses are the ways a process ends that the kernel's records must
// tell apart.
type endedProcesses struct {
	exit3, killed, core, noCore, sleep int
}

// endProcesses ends one process each way, in dir.
func endProcesses(t *testing.T, dir string) endedProcesses {
	var e endedProcesses
	e.exit3 = ended(t, exec.Command("sh", "-c", "exit 3"), nil)
	e.killed = ended(t, exec.Command("sleep", "60"), func(p *os.Process) { p.Kill() })
	core := exec.Command("sh", "-c", "ulimit -c unlimited; kill -SEGV $$")
	core.Dir = dir
	e.core = ended(t, core, nil)
	noCore := exec.Command("sh", "-c", "ulimit -c 0; kill -SEGV $$")
	noCore.Dir = dir
	e.noCore = ended(t, noCore, nil)
	sleep := exec.Command("sleep", "0.2")
	sleep.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	e.sleep = ended(t, sleep, nil)
	return e
}

// record returns the record of pid, failing the test when there is none.
func record(t *testing.T, recs map[uint32]Record, pid int) Record {
	t.Helper()
	r, ok := recs[uint32(pid)]
	if !ok {
		t.Fatalf("no accounting record for pid %d among %d", pid, len(recs))
	}
	t.Logf("pid %d: %+v", pid, r)
	return r
}

// TestIntegrationRecords checks what the kernel writes for each way a
// process ends: ExitCode is a wait status (exit 3 is 3<<8, SIGKILL is 9, a
// dumped core adds 0x80), AXSIG marks a death by signal, and ACORE marks
// every death by a core-dumping signal, even with a core limit of 0.
func TestIntegrationRecords(t *testing.T) {
	acctTestLock(t)
	path := accountingOn(t)
	// Btime is whole seconds computed from the boot time: allow for both.
	start := time.Now().Add(-2 * time.Second)
	e := endProcesses(t, t.TempDir())
	accountingOff(t)
	recs := readRecords(t, path)
	tests := []struct {
		name  string
		pid   int
		comm  string
		exit  uint32
		flags Flags
		uid   uint32
	}{
		{"exit 3", e.exit3, "sh", 3 << 8, 0, 0},
		{"SIGKILL", e.killed, "sleep", uint32(syscall.SIGKILL), AXSIG, 0},
		{"SIGSEGV with a core", e.core, "sh", uint32(syscall.SIGSEGV) | 0x80, AXSIG | ACORE, 0},
		{"SIGSEGV with core limit 0", e.noCore, "sh", uint32(syscall.SIGSEGV), AXSIG | ACORE, 0},
		{"sleep 0.2 as nobody", e.sleep, "sleep", 0, 0, nobody},
	}
	for _, tt := range tests {
		r := record(t, recs, tt.pid)
		checkRecord(t, tt.name, r, tt.comm, tt.exit, tt.uid)
		if got := r.Flags & (AXSIG | ACORE | AFORK); got != tt.flags {
			t.Errorf("%s: flags %#x, want %#x", tt.name, got, tt.flags)
		}
		if r.Btime.Before(start) || r.Btime.After(time.Now().Add(2*time.Second)) {
			t.Errorf("%s: began at %v, not during the test (from %v)", tt.name, r.Btime, start)
		}
	}
	checkSleep(t, record(t, recs, e.sleep))
}

// checkRecord checks the fields every record of the test has.
func checkRecord(t *testing.T, name string, r Record, comm string, exit, uid uint32) {
	t.Helper()
	if r.Version != 3 || r.BigEndian {
		t.Errorf("%s: version %d big-endian %v, want 3 little-endian", name, r.Version, r.BigEndian)
	}
	if r.Comm != comm || r.ExitCode != exit || r.UID != uid || r.GID != uid {
		t.Errorf("%s: comm %q exit %#x uid %d gid %d, want %q %#x %d %d",
			name, r.Comm, r.ExitCode, r.UID, r.GID, comm, exit, uid, uid)
	}
	if r.PPid != uint32(os.Getpid()) {
		t.Errorf("%s: ppid %d, want the test's pid %d", name, r.PPid, os.Getpid())
	}
	if r.Mem == 0 || r.Minflt == 0 {
		t.Errorf("%s: average memory %d KiB and %d minor faults, want both above 0", name, r.Mem, r.Minflt)
	}
}

// checkSleep checks the record of sleep 0.2: its elapsed time (with a wide
// tolerance: this is not a speed test) and its exit as the wait status 0.
func checkSleep(t *testing.T, r Record) {
	t.Helper()
	if r.Etime < 200*time.Millisecond || r.Etime > 10*time.Second {
		t.Errorf("sleep 0.2: elapsed %v, want between 0.2 s and 10 s", r.Etime)
	}
	if ws := r.WaitStatus(); !ws.Exited() || ws.ExitStatus() != 0 {
		t.Errorf("sleep 0.2: wait status %#x, want an exit with 0", r.ExitCode)
	}
	if !r.Flags.SuperUser() {
		t.Errorf("sleep 0.2: no ASU, want it: the child used CAP_SETUID to become nobody")
	}
}

// TestIntegrationOff checks that Off switches accounting off, so that no
// process ending afterwards adds a record, and that it succeeds twice. It
// reproduces the trap of unix.Acct(""), which fails with ENOENT and leaves
// the accounting on.
func TestIntegrationOff(t *testing.T) {
	acctTestLock(t)
	path := accountingOn(t)
	ended(t, exec.Command("true"), nil)
	if err := Off(); err != nil {
		t.Fatalf("off: %v", err)
	}
	if err := Off(); err != nil {
		t.Fatalf("off when off: %v", err)
	}
	before := len(readRecords(t, path))
	pid := ended(t, exec.Command("true"), nil)
	recs := readRecords(t, path)
	if _, ok := recs[uint32(pid)]; ok || len(recs) != before {
		t.Fatalf("%d records after Off, %d before: accounting is still on", len(recs), before)
	}
	if before == 0 {
		t.Fatal("no record while accounting was on")
	}
}
