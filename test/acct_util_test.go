//go:build linux

package test

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"respawn/acct"
)

// acctTestLock holds the machine-wide lock of the tests that switch the
// kernel's process accounting on (one per pid namespace: two at once
// would take it from each other), here and in package acct, until the
// test ends; then it makes sure accounting is off.
func acctTestLock(t *testing.T) {
	t.Helper()
	f, err := os.OpenFile("/run/respawn-acct-test.lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = acct.Off()
		f.Close() // and the lock with it
	})
}

// sembuf is struct sembuf of sys/sem.h.
type sembuf struct {
	num uint16
	op  int16
	flg int16
}

const semUndo = 0x1000

// atopClient registers the test as a reader of the shadow files, as atop
// does (public semaphore 0 decremented with SEM_UNDO) until the test ends.
func atopClient(t *testing.T) {
	t.Helper()
	id, _, errno := unix.Syscall(unix.SYS_SEMGET, acct.PublicKey, 0, 0)
	if errno != 0 {
		t.Fatalf("semget %d: %v", acct.PublicKey, errno)
	}
	op := func(n int16) {
		b := sembuf{num: 0, op: n, flg: semUndo}
		if _, _, errno := unix.Syscall(unix.SYS_SEMOP, id, uintptr(unsafe.Pointer(&b)), 1); errno != 0 {
			t.Fatalf("semop %d: %v", n, errno)
		}
	}
	op(-1)
	t.Cleanup(func() { op(+1) })
}

// semVal is the value of semaphore num of the public set.
func semVal(t *testing.T, num int) int {
	t.Helper()
	id, _, errno := unix.Syscall(unix.SYS_SEMGET, acct.PublicKey, 0, 0)
	if errno != 0 {
		t.Fatalf("semget %d: %v", acct.PublicKey, errno)
	}
	v, _, errno := unix.Syscall6(unix.SYS_SEMCTL, id, uintptr(num), 12 /* GETVAL */, 0, 0, 0)
	if errno != 0 {
		t.Fatalf("semctl GETVAL: %v", errno)
	}
	return int(v)
}

// clients is how many atop clients the public semaphore counts.
func clients(t *testing.T) int { return acct.PublicTotal - semVal(t, 0) }

// shadowRecords reads every shadow file in dir's pacct_shadow.d, oldest
// first, and returns their records and the files' names.
func shadowRecords(t *testing.T, dir string) ([]acct.Record, []string) {
	t.Helper()
	names, _ := filepath.Glob(filepath.Join(dir, acct.ShadowDirName, "*.paf"))
	sort.Strings(names)
	var recs []acct.Record
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		var rest []byte
		if recs, rest, err = acct.ParseAll(recs, b); err != nil || len(rest) != 0 {
			t.Fatalf("%s: %d bytes left, %v", n, len(rest), err)
		}
	}
	return recs, names
}

// current is what pacct_shadow.d/current says.
func current(dir string) string {
	b, _ := os.ReadFile(filepath.Join(dir, acct.ShadowDirName, acct.CurrentName))
	return string(b)
}

// prgLine is one process of atop's parseable PRG output.
type prgLine struct {
	pid   int
	name  string
	state string
	exit  int
}

// runAtop runs Debian's atop for samples of secs seconds and returns its
// PRG lines. atop reads /run/pacct_shadow.d, which respawn --acct fills.
func runAtop(t *testing.T, secs, samples int) []prgLine {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(secs*samples+20)*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "atop", "-P", "PRG", strconv.Itoa(secs), strconv.Itoa(samples))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("atop: %v\n%s", err, out)
	}
	return parsePRG(out)
}

// parsePRG reads atop's PRG lines: label host epoch date time interval,
// then pid (name) state ruid rgid tgid threads exitcode...
func parsePRG(out []byte) []prgLine {
	var lines []prgLine
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 14 || f[0] != "PRG" {
			continue
		}
		pid, _ := strconv.Atoi(f[6])
		code, _ := strconv.Atoi(f[13])
		lines = append(lines, prgLine{pid: pid, name: strings.Trim(f[7], "()"), state: f[8], exit: code})
	}
	return lines
}

// needAtop fails the test when Debian's atop is not installed (.ci/run
// installs it).
func needAtop(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("atop"); err != nil {
		t.Fatal("atop is needed (apt-get install atop):", err)
	}
}

// acctGroup is the "acct" group of a log line, or nil.
func acctGroup(l map[string]any) map[string]any {
	g, _ := l["acct"].(map[string]any)
	return g
}

// seconds reads a duration attribute ("1.5s") of an acct group.
func seconds(t *testing.T, g map[string]any, key string) float64 {
	t.Helper()
	d, err := time.ParseDuration(g[key].(string))
	if err != nil {
		t.Fatalf("acct %s %v: %v", key, g[key], err)
	}
	return d.Seconds()
}
