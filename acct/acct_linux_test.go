//go:build linux

package acct

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// otherAccountingFiles are where psacct/acct and atopacctd keep their
// accounting files: the kernel says nothing about an active accounting, so
// these are watched for growth instead.
var otherAccountingFiles = []string{
	"/var/log/account/pacct", "/var/account/pacct", "/var/log/pacct",
	"/run/pacct_source", "/var/run/pacct_source",
}

// otherAccounting returns what shows that another accounting is on: an
// atopacctd or accton process, or one of its files growing while a process
// ends. acct(2) would silently take the kernel's accounting over from it.
func otherAccounting(t *testing.T) string {
	t.Helper()
	comms, _ := filepath.Glob("/proc/[0-9]*/comm")
	for _, c := range comms {
		b, _ := os.ReadFile(c)
		if name := strings.TrimSpace(string(b)); name == "atopacctd" || name == "accton" {
			return name + " is running (" + c + ")"
		}
	}
	before := sizesOf(otherAccountingFiles)
	if err := exec.Command("true").Run(); err != nil {
		t.Fatalf("run true: %v", err)
	}
	for path, size := range sizesOf(otherAccountingFiles) {
		if size > before[path] {
			return path + " grew when a process ended"
		}
	}
	return ""
}

// accountingOn switches the kernel's accounting on to a new file in a
// temporary directory and returns its path; the test's cleanup switches it
// off again whatever happens. The caller holds acctTestLock.
func accountingOn(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("acct: this test needs root (CAP_SYS_PACCT) to switch process accounting on")
	}
	if other := otherAccounting(t); other != "" {
		t.Fatalf("acct: another process accounting is active (%s); switching it on here would take it over", other)
	}
	path := filepath.Join(t.TempDir(), "pacct")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { accountingOff(t) })
	if err := On(path); err != nil {
		t.Fatalf("switch accounting on to %s: %v", path, err)
	}
	return path
}

// accountingOff switches the kernel's accounting off; it may run twice.
func accountingOff(t *testing.T) {
	if err := Off(); err != nil {
		t.Errorf("switch accounting off: %v", err)
	}
}

// ended runs cmd to its end (kill, when not nil, is called once it has
// started) and returns its pid.
func ended(t *testing.T, cmd *exec.Cmd, kill func(*os.Process)) int {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %v: %v", cmd.Args, err)
	}
	if kill != nil {
		kill(cmd.Process)
	}
	var exit *exec.ExitError
	if err := cmd.Wait(); err != nil && !errors.As(err, &exit) {
		t.Fatalf("wait %v: %v", cmd.Args, err)
	}
	return cmd.Process.Pid
}

// readRecords parses the accounting file at path into records by pid.
func readRecords(t *testing.T, path string) map[uint32]Record {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	recs, rest, err := ParseAll(nil, b)
	if err != nil || len(rest) != 0 {
		t.Fatalf("parse %d bytes: %d records, %d bytes left, %v", len(b), len(recs), len(rest), err)
	}
	byPid := map[uint32]Record{}
	for _, r := range recs {
		byPid[r.Pid] = r
	}
	return byPid
}
