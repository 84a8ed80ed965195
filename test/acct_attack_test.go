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
	"unsafe"

	"github.com/vmihailenco/msgpack/v5"
	"golang.org/x/sys/unix"

	"respawn/acct"
	"respawn/reexec"
)

func init() {
	moreHelpers["forgeacct"] = forgeAcct
}

// forgeAcct plays a new image's launcher that hands over a snapshot
// whose accounting state is forged: "forgeacct REAL --state-fd=N KEY=V
// ARGS..." sets the acct state's field KEY (its msgpack name) to the
// integer V, then execs "REAL --re-exec --state-fd=M ARGS".
func forgeAcct(args []string) int {
	real, fdArg, edit := args[0], args[1], args[2]
	fd, err := strconv.Atoi(strings.TrimPrefix(fdArg, "--state-fd="))
	if err != nil {
		return 94
	}
	b, err := reexec.ReadState(fd)
	if err != nil {
		return 94
	}
	key, val, _ := strings.Cut(edit, "=")
	v, err := strconv.ParseInt(val, 10, 64)
	var m map[string]any
	if err != nil || msgpack.Unmarshal(b, &m) != nil {
		return 93
	}
	st, ok := m["acct"].(map[string]any)
	if !ok {
		return 93
	}
	st[key] = v
	forged, err := msgpack.Marshal(m)
	if err != nil {
		return 93
	}
	return execWithState(real, forged, args[3:])
}

// privateSem is the value of the private semaphore (key 1071979), or -1
// when there is no such set.
func privateSem(t *testing.T) int {
	t.Helper()
	id, _, errno := unix.Syscall(unix.SYS_SEMGET, acct.PrivateKey, 0, 0)
	if errno == unix.ENOENT {
		return -1
	}
	if errno != 0 {
		t.Fatalf("semget %d: %v", acct.PrivateKey, errno)
	}
	v, _, errno := unix.Syscall6(unix.SYS_SEMCTL, id, 0, 12 /* GETVAL */, 0, 0, 0)
	if errno != 0 {
		t.Fatalf("semctl GETVAL: %v", errno)
	}
	return int(v)
}

// checkAcctEnded fails the test unless respawn's end left accounting off
// (dir's old source does not grow while a process ends), no file in dir
// but what was there before, and the private semaphore at 0, so that
// the next respawn --acct starts.
func checkAcctEnded(t *testing.T, dir string, src *os.File) {
	t.Helper()
	before, _ := src.Stat()
	if err := acct.ProbeExit(); err != nil {
		t.Fatal(err)
	}
	if after, _ := src.Stat(); after.Size() != before.Size() {
		t.Errorf("the source grew from %d to %d bytes after respawn ended: accounting left on", before.Size(), after.Size())
	}
	for _, p := range []string{acct.SourceName, acct.ShadowDirName} {
		if _, err := os.Lstat(filepath.Join(dir, p)); err == nil {
			t.Errorf("%s left behind", p)
		}
	}
	if v := privateSem(t); v > 0 {
		t.Errorf("the private semaphore is %d after respawn ended; want 0", v)
	}
}

// killAccountedAndStop SIGKILLs server 1, which the daemon now running
// must account, then stops respawn and checks that accounting ended.
func killAccountedAndStop(t *testing.T, s *Sup, dir string) {
	t.Helper()
	src := openSource(t, dir)
	_ = unix.Kill(s.pidOf(1), unix.SIGKILL)
	if g := deathAcct(t, s, 1); g["exit"] != "signal SIGKILL" {
		t.Errorf("the death after the upgrade is accounted as %v; want signal SIGKILL", g)
	}
	s.stop()
	checkAcctEnded(t, dir, src)
}

// openSource opens dir's accounting source as respawn made it.
func openSource(t *testing.T, dir string) *os.File {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, acct.SourceName))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// A live upgrade whose new image cannot take the accounting over (the
// source was removed meanwhile, as a cleaner of /run would) starts the
// daemon anew, and the next death is accounted; twice in a row too. The
// new image used to find the private semaphore raised by its own old
// image (execve keeps a SEM_UNDO adjustment) and refused itself as
// "already running" at every retry, accounting off for good. And the
// second time the old shadow directory could not be set aside: the
// name pacct_shadow.d-old-PID was taken by the first.
func TestAcctStartsAnewAfterFailedAdopt(t *testing.T) {
	acctTestLock(t)
	dir := acctDir(t, 0o755)
	s := begin(t, "--acct", "--acct-dir="+dir, "{", "sleep", "1000", "}")
	s.waitLog(1, msg("acct: process accounting on", "inherited", false))
	for gen := 1; gen <= 2; gen++ {
		if err := os.Remove(filepath.Join(dir, acct.SourceName)); err != nil {
			t.Fatal(err)
		}
		s.upgrade(gen)
		s.waitLog(gen+1, msg("acct: process accounting on", "inherited", false))
	}
	killAccountedAndStop(t, s, dir)
}

// A snapshot that says more of the source was read than it holds (a
// forged offset) is not taken over: the daemon starts anew, and the next
// death is accounted. It used to be adopted, reading from past the end of
// the file: no record was read until the kernel wrote that far.
func TestAcctForgedSourceOffset(t *testing.T) {
	acctTestLock(t)
	dir := acctDir(t, 0o755)
	bin := copyBinary(t)
	s := startBin(t, bin, "", "--control=none", "--acct", "--acct-dir="+dir, "{", "sleep", "1000", "}")
	guard(s)
	s.waitLog(1, msg("acct: process accounting on", "inherited", false))
	writeScript(t, bin, fmt.Sprintf(`case "$1" in
--re-exec) fd="$2"; shift 2; exec %s helper forgeacct %s "$fd" srcoff=%d "$@";;
esac
exec %s "$@"
`, selfBin, respawnBin, 1<<30, respawnBin))
	s.upgrade(1)
	l := s.waitLog(1, msg("acct: the old image's accounting not taken over (switched off); starting anew"))
	if !strings.Contains(fmt.Sprint(l["err"]), "bytes of a source of") {
		t.Errorf("the refusal says %q; want the offset past the source", l["err"])
	}
	s.waitLog(2, msg("acct: process accounting on", "inherited", false))
	killAccountedAndStop(t, s, dir)
}

// semid64 is struct semid64_ds, its ipc64_perm first; the rest is room.
type semid64 struct {
	perm unix.SysvIpcPerm
	_    [16]uint64
}

// userPrivateSem makes the private semaphore as an unprivileged user
// could before respawn starts: owned by uid 65534, held at 1 as though a
// daemon ran. It is removed at the test's end.
func userPrivateSem(t *testing.T) {
	t.Helper()
	if v := privateSem(t); v > 0 {
		t.Fatalf("the private semaphore is %d: a daemon runs", v)
	}
	if id, _, errno := unix.Syscall(unix.SYS_SEMGET, acct.PrivateKey, 0, 0); errno == 0 {
		unix.Syscall6(unix.SYS_SEMCTL, id, 0, unix.IPC_RMID, 0, 0, 0)
	}
	id, _, errno := unix.Syscall(unix.SYS_SEMGET, acct.PrivateKey, 1, 0o600|unix.IPC_CREAT|unix.IPC_EXCL)
	if errno != 0 {
		t.Fatalf("semget: %v", errno)
	}
	t.Cleanup(func() {
		if id, _, errno := unix.Syscall(unix.SYS_SEMGET, acct.PrivateKey, 0, 0); errno == 0 {
			unix.Syscall6(unix.SYS_SEMCTL, id, 0, unix.IPC_RMID, 0, 0, 0)
		}
	})
	var ds semid64
	ctl := func(cmd int) {
		if _, _, errno := unix.Syscall6(unix.SYS_SEMCTL, id, 0, uintptr(cmd), uintptr(unsafe.Pointer(&ds)), 0, 0); errno != 0 {
			t.Fatalf("semctl %d: %v", cmd, errno)
		}
	}
	ctl(unix.IPC_STAT)
	ds.perm.Uid, ds.perm.Gid = 65534, 65534
	ctl(unix.IPC_SET)
	if _, _, errno := unix.Syscall6(unix.SYS_SEMCTL, id, 0, 16 /* SETVAL */, 1, 0, 0); errno != 0 {
		t.Fatalf("semctl SETVAL: %v", errno)
	}
}

// A private semaphore that a user made and holds at 1 does not keep
// respawn --acct from starting: it is no daemon's (only root's set is),
// and is made anew. respawn used to refuse ("already running"), with
// nothing started, for as long as the user wished.
func TestAcctUserPrivateSemaphore(t *testing.T) {
	acctTestLock(t)
	userPrivateSem(t)
	dir := acctDir(t, 0o755)
	s := begin(t, "--acct", "--acct-dir="+dir, "{", "sleep", "1000", "}")
	s.waitLog(1, msg("acct: process accounting on"))
	if v := privateSem(t); v != 1 {
		t.Errorf("the private semaphore is %d while respawn --acct runs; want 1", v)
	}
	src := openSource(t, dir)
	s.stop()
	checkAcctEnded(t, dir, src)
}

// truncates is how many times the source was renewed, by the info dump.
func truncates(s *Sup, n int) int {
	d, _ := s.dump(n)["acct"].(map[string]any)
	v, _ := d["truncates"].(float64)
	return int(v)
}

// --acct-dir is a directory of root's inside one a user may write to:
// the user can put a directory of theirs in its place while respawn runs,
// with pacct_source.new a symlink to any file. The renewal of the source
// (past 1 MiB) still switches accounting on to respawn's own directory,
// never through the path: the victim file does not grow. acct(2) used to
// be given the path, and appended records to whatever file the user named.
func TestAcctDirSwappedAtRenewal(t *testing.T) {
	acctTestLock(t)
	forkstorm := buildStorm(t)
	parent := filepath.Join(t.TempDir(), "user")
	dir := filepath.Join(parent, "acct")
	for _, d := range []string{parent, dir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chown(parent, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s := begin(t, "--acct", "--acct-dir="+dir, "{", "sleep", "1000", "}")
	s.waitLog(1, msg("acct: process accounting on"))
	if err := os.Rename(dir, dir+".real"); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, filepath.Join(dir, acct.SourceName+".new")); err != nil {
		t.Fatal(err)
	}
	st := startStorm(t, forkstorm, "fork", "20000")
	st.wait(t)
	n := 1
	for deadline := time.Now().Add(30 * time.Second); truncates(s, n) == 0; n++ {
		if time.Now().After(deadline) {
			t.Fatal("the source was not renewed within 30 s of 20,000 exits")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := acct.ProbeExit(); err != nil {
		t.Fatal(err)
	}
	if size := fileSize(victim); size != 0 {
		t.Errorf("the file the user's symlink named holds %d bytes of accounting records", size)
	}
	src := openSource(t, dir+".real")
	s.stop()
	before, _ := src.Stat()
	if err := acct.ProbeExit(); err != nil {
		t.Fatal(err)
	}
	if after, _ := src.Stat(); after.Size() != before.Size() || fileSize(victim) != 0 {
		t.Errorf("accounting left on after respawn ended")
	}
}

// deathsUnaccounted returns the deaths (server:pid) logged so far of
// processes started once accounting was on that carry no accounting and
// have no "accounted" line of their own.
func deathsUnaccounted(s *Sup) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	late, started, on := map[string]bool{}, map[string]bool{}, false
	for _, l := range s.logs {
		key := fmt.Sprint(l["server"], ":", l["pid"])
		switch {
		case l["msg"] == "acct: process accounting on":
			on = true
		case l["msg"] == "ALIVE" && on:
			started[key] = true
		case l["msg"] == "accounted":
			late[key] = true
		}
	}
	var missing []string
	for _, l := range s.logs {
		key := fmt.Sprint(l["server"], ":", l["pid"])
		if (l["msg"] == "DEAD" || l["msg"] == "BURIED") && started[key] && acctGroup(l) == nil && !late[key] {
			missing = append(missing, key)
		}
	}
	return missing
}

// 50 servers that exit at once, retried until buried: every death of a
// process started once accounting was on gets its record, on its DEAD or
// BURIED line or on an "accounted" line of its own, and none is left
// waiting. (The first processes may end before the daemon has switched
// accounting on: they have no record.) A process that ended within
// milliseconds of its spawn used to lose its record about one run in
// five: the task read it, woken by the exit, before the event loop had
// asked for its pid.
func TestAcctCrashLoopers(t *testing.T) {
	acctTestLock(t)
	const n = 50
	args := []string{"--acct", "--retries=3"}
	for i := 0; i < n; i++ {
		args = append(args, "{", "sh", "-c", "exit 3", "}")
	}
	s := begin(t, args...)
	s.waitLog(1, msg("acct: process accounting on"))
	for i := 1; i <= n; i++ {
		s.waitLog(1, msg("BURIED", "server", i))
	}
	var missing []string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if missing = deathsUnaccounted(s); len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d deaths (server:pid) without their record 10 s after the last burial: %v", len(missing), missing)
		}
	}
	// The deaths before accounting was on wait 5 s for a record that
	// never comes, then are given up.
	for i, deadline := 1, time.Now().Add(10*time.Second); dumpWaiting(s.dump(i)) != 0; i++ {
		if time.Now().After(deadline) {
			t.Fatalf("the dump shows deaths still waiting for their record 10 s after the last burial")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if deaths := s.count(msg("DEAD")) + s.count(msg("BURIED")); deaths != 4*n {
		t.Errorf("%d deaths; want %d (%d servers, 3 retries each)", deaths, 4*n, n)
	}
	s.stop()
}

// dumpWaiting is the acct task's count of deaths waiting for a record.
func dumpWaiting(d map[string]any) int {
	a, _ := d["acct"].(map[string]any)
	v, _ := a["waiting"].(float64)
	return int(v)
}

// Every stop signal ends the accounting as SIGTERM does: SIGINT,
// SIGQUIT (a container's stop signal, passed on to the servers), and a
// second SIGTERM that kills what is left at once, sent while a server
// ignores the first. Accounting is off, the files are gone and the
// private semaphore is back at 0.
func TestAcctStopSignals(t *testing.T) {
	for _, tc := range []struct {
		name string
		sigs []unix.Signal
	}{
		{"SIGINT", []unix.Signal{unix.SIGINT}},
		{"SIGQUIT", []unix.Signal{unix.SIGQUIT}},
		{"second SIGTERM", []unix.Signal{unix.SIGTERM, unix.SIGTERM}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			acctTestLock(t)
			dir := acctDir(t, 0o755)
			s := begin(t, "--acct", "--acct-dir="+dir, "--stop-timeout=30s", "{", "sh", "-c", "trap '' TERM QUIT INT; while :; do sleep 1; done", "}")
			s.waitLog(1, msg("acct: process accounting on"))
			src := openSource(t, dir)
			for _, sig := range tc.sigs {
				s.signal(sig)
				s.waitLog(1, msg("shutting down"))
			}
			if len(tc.sigs) == 1 {
				_ = unix.Kill(s.pidOf(1), unix.SIGKILL) // it ignores the signal
			}
			s.wait()
			checkAcctEnded(t, dir, src)
		})
	}
}

// A live upgrade whose snapshot the new image cannot use (it recovers
// from the command line and /proc) starts the daemon anew: accounting
// moves to a new source, the old one no longer grows, and the next death
// is accounted. The new image used to refuse itself as "already running"
// (its old image's raise of the private semaphore), leaving accounting
// on to the old source, which nobody read any more.
func TestAcctCorruptSnapshot(t *testing.T) {
	acctTestLock(t)
	dir := acctDir(t, 0o755)
	bin := copyBinary(t)
	s := startBin(t, bin, "", "--control=none", "--acct", "--acct-dir="+dir, "{", "sleep", "1000", "}")
	guard(s)
	s.waitLog(1, msg("acct: process accounting on"))
	old := openSource(t, dir)
	upgradeUnusable(s, bin)
	s.waitLog(2, msg("acct: process accounting on", "inherited", false))
	before, _ := old.Stat()
	if err := acct.ProbeExit(); err != nil {
		t.Fatal(err)
	}
	if after, _ := old.Stat(); after.Size() != before.Size() {
		t.Errorf("the old image's source grew from %d to %d bytes: accounting still goes to it", before.Size(), after.Size())
	}
	killAccountedAndStop(t, s, dir)
}
