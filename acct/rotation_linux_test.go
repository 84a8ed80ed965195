//go:build linux

package acct

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// buildBurst compiles testdata/burst.c into the test's directory.
func buildBurst(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "burst")
	if out, err := exec.Command("gcc", "-O2", "-o", bin, "testdata/burst.c").CombinedOutput(); err != nil {
		t.Fatalf("gcc burst.c: %v\n%s", err, out)
	}
	return bin
}

// burst is the pids of a burst's children and the pid of their parent:
// pids wrap around (pid_max is 32768 here), and other processes end with
// the same pids during a long test.
type burst struct {
	parent int
	pids   []int
}

// startBurst starts n short processes; the function it returns waits for
// their end.
func startBurst(t *testing.T, bin string, n int) func() burst {
	t.Helper()
	cmd := exec.Command(bin, strconv.Itoa(n))
	var out strings.Builder
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return func() burst {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("burst: %v", err)
		}
		var pids []int
		for _, f := range strings.Fields(out.String()) {
			pid, _ := strconv.Atoi(f)
			pids = append(pids, pid)
		}
		if len(pids) != n {
			t.Fatalf("burst printed %d pids, want %d", len(pids), n)
		}
		return burst{cmd.Process.Pid, pids}
	}
}

// children returns how many records each child of b has in recs.
func (b burst) children(recs []Record) map[uint32]int {
	count := map[uint32]int{}
	for _, r := range recs {
		if r.PPid == uint32(b.parent) {
			count[r.Pid]++
		}
	}
	return count
}

// checkOnce checks that every child of b has exactly one record in recs.
func checkOnce(t *testing.T, recs []Record, b burst) {
	t.Helper()
	count := b.children(recs)
	bad := 0
	for _, pid := range b.pids {
		if n := count[uint32(pid)]; n != 1 {
			if bad++; bad <= 5 {
				t.Errorf("pid %d: %d records, want 1", pid, n)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d pids without exactly one record", bad, len(b.pids))
	}
}

// allCopied waits until every child of b has a record in dir's shadow
// files.
func allCopied(t *testing.T, dir string, b burst) {
	t.Helper()
	waitFor(t, fmt.Sprintf("the records of %d processes copied", len(b.pids)), func() bool {
		return len(b.children(shadowRecords(t, dir))) == len(b.pids)
	})
}

// TestIntegrationRotation checks the rotation across shadow files with a
// burst of 25,000 processes and one client: files named in order, each
// but the last exactly 10,000 records, current naming the last, and the
// record of every process of the burst there exactly once.
func TestIntegrationRotation(t *testing.T) {
	bin := buildBurst(t)
	d := startDaemon(t, Config{})
	dir := d.Stats().Dir
	addClient(t)
	runDaemon(t, d)
	b := startBurst(t, bin, 25000)()
	allCopied(t, dir, b)
	s := d.Stats()
	t.Logf("%d records copied, current file %d", s.Copied, s.Seq)
	if s.Seq != s.Copied/MaxShadowRec || s.Seq < 2 {
		t.Errorf("current file %d after %d records, want %d (at least 2)", s.Seq, s.Copied, s.Copied/MaxShadowRec)
	}
	for seq := uint64(0); seq <= s.Seq; seq++ {
		want := int64(MaxShadowRec * Size)
		if seq == s.Seq {
			want = int64(s.Copied%MaxShadowRec) * Size
		}
		if fi, err := os.Stat(filepath.Join(dir, ShadowDirName, fmt.Sprintf("%010d.paf", seq))); err != nil || fi.Size() != want {
			t.Errorf("shadow file %d: %v, want %d bytes", seq, err, want)
		}
	}
	if got, want := readCurrent(t, dir), fmt.Sprintf("%d/10000", s.Seq); got != want {
		t.Errorf("current %q, want %q", got, want)
	}
	checkOnce(t, shadowRecords(t, dir), b)
}

// TestIntegrationSourceRenewed checks the source's truncation past
// MaxSource during a burst: it stays small, and no record is lost or
// copied twice across the renewals.
func TestIntegrationSourceRenewed(t *testing.T) {
	bin := buildBurst(t)
	d := startDaemon(t, Config{MaxSource: 100 * Size})
	dir := d.Stats().Dir
	addClient(t)
	runDaemon(t, d)
	b := startBurst(t, bin, 3000)()
	allCopied(t, dir, b)
	checkOnce(t, shadowRecords(t, dir), b)
	if s := d.Stats(); s.Truncates == 0 {
		t.Errorf("no truncation for 3000 records with a source of 100")
	}
	if fi, err := os.Stat(filepath.Join(dir, SourceName)); err != nil || fi.Size() > 200*Size {
		t.Errorf("source after the burst: %v, %d bytes, want at most 2 x MaxSource", err, fi.Size())
	}
	for _, r := range shadowRecords(t, dir) {
		if r.Pid == uint32(os.Getpid()) {
			t.Errorf("a record of this process, which acct(2) writes as it switches files, was copied: %+v", r)
		}
	}
}

// TestIntegrationGCClockBack checks that the gc runs at once when the
// clock went back, its interval not passed: every shadow file but the
// current one is removed.
func TestIntegrationGCClockBack(t *testing.T) {
	d := startDaemon(t, Config{MaxRecs: 2, GCInterval: time.Hour})
	addClient(t)
	waitFor(t, "two shadow files filled", func() bool {
		exit3(t)
		_, err := d.Pump(true)
		return err == nil && d.Stats().Seq >= 2
	})
	d.Tick(time.Now())
	if s := d.Stats(); s.Oldest != 0 {
		t.Fatalf("the gc ran within its interval: oldest shadow file %d", s.Oldest)
	}
	d.Tick(time.Now().Add(-time.Minute))
	files, _ := filepath.Glob(filepath.Join(d.Stats().Dir, ShadowDirName, "*.paf"))
	if s := d.Stats(); s.Oldest != s.Seq || len(files) != 1 {
		t.Errorf("after the clock went back: oldest %d, current %d, files %v; want the current one alone", s.Oldest, s.Seq, files)
	}
}

// TestIntegrationUpgrade checks a live upgrade in one process during a
// burst: State and Files, then Adopt on duplicates of the descriptors;
// every record is copied once, by one daemon or the other.
func TestIntegrationUpgrade(t *testing.T) {
	bin := buildBurst(t)
	old := startDaemon(t, Config{})
	dir := old.Stats().Dir
	addClient(t)
	wait := startBurst(t, bin, 5000)
	waitFor(t, "records before the upgrade", func() bool { n, _ := old.Pump(false); return n > 0 })
	st := old.State()
	if n, _ := old.Pump(false); n != 0 {
		t.Errorf("pump after State read %d records, want 0: State freezes", n)
	}
	source, shadow := old.Files()
	if _, err := Adopt(Config{Dir: dir}, State{Dir: dir, Seq: st.Seq + 1}, source, shadow); err == nil {
		t.Errorf("adopt with a state naming another shadow file succeeded")
	}
	d, err := Adopt(Config{Dir: dir}, st, dup(t, source), dup(t, shadow))
	if err != nil {
		t.Fatalf("adopt: %v", err)
	}
	old.Close()
	t.Cleanup(func() { d.Stop() })
	runDaemon(t, d)
	b := wait()
	allCopied(t, dir, b)
	checkOnce(t, shadowRecords(t, dir), b)
	if s := d.Stats(); s.Copied <= st.Copied {
		t.Errorf("%d records copied in all, %d before the upgrade: the new daemon copied none", s.Copied, st.Copied)
	}
}

// dup duplicates fd, as execve keeps a descriptor.
func dup(t *testing.T, fd int) int {
	t.Helper()
	n, err := unix.Dup(fd)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestIntegrationGC checks the removal of shadow files: every GCInterval,
// the files before the first one a reader holds a read lock on are
// removed, that one and the later ones kept; once it is let go, every
// file but the current one goes.
func TestIntegrationGC(t *testing.T) {
	bin := buildBurst(t)
	d := startDaemon(t, Config{MaxRecs: 1000, GCInterval: 100 * time.Millisecond})
	dir := d.Stats().Dir
	addClient(t)
	runDaemon(t, d)
	startBurst(t, bin, 2500)()
	waitFor(t, "2500 records copied", func() bool { return d.Stats().Seq >= 2 })
	held := d.Stats().Seq
	f, err := os.Open(filepath.Join(dir, ShadowDirName, shadowName(held)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lock := unix.Flock_t{Type: unix.F_RDLCK, Start: 0, Len: 1}
	if err := unix.FcntlFlock(f.Fd(), unix.F_OFD_SETLK, &lock); err != nil {
		t.Fatal(err)
	}
	startBurst(t, bin, 2500)()
	waitFor(t, "the files before the one read removed", func() bool {
		s := d.Stats()
		return s.Oldest == held && s.Seq >= held+2
	})
	f.Close()
	waitFor(t, "every file but the current one removed", func() bool {
		files, _ := filepath.Glob(filepath.Join(dir, ShadowDirName, "*.paf"))
		return len(files) == 1 && d.Stats().Oldest == d.Stats().Seq
	})
}
