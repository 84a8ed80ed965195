//go:build linux

package acct

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// smallFS mounts a 4 MiB tmpfs (root's, 0755) for the test's length.
func smallFS(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=4m,mode=0755"); err != nil {
		t.Fatalf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	return dir
}

// fillTo3 writes a file in dir until 3% of the file system is free: over
// atopacctd's 95% mark, under the kernel's own suspension of accounting
// (2% free), so that the kernel still writes the source.
func fillTo3(t *testing.T, dir string) string {
	t.Helper()
	var fs unix.Statfs_t
	if err := unix.Statfs(dir, &fs); err != nil {
		t.Fatal(err)
	}
	free := int64(fs.Bfree) - int64(fs.Blocks)*3/100
	path := filepath.Join(dir, "filler")
	if err := os.WriteFile(path, make([]byte, free*fs.Bsize), 0o600); err != nil {
		t.Fatalf("fill %s: %v", dir, err)
	}
	return path
}

// TestIntegrationFull checks the 95% mark: records that end while the
// shadow files' file system is over it are skipped, logged once, and
// writing resumes once space is freed, logged with the count skipped.
func TestIntegrationFull(t *testing.T) {
	log, logs := newLog()
	d := startDaemon(t, Config{Dir: smallFS(t), Log: log})
	dir := d.Stats().Dir
	runDaemon(t, d)
	addClient(t)
	filler := fillTo3(t, dir)
	skipped := []int{readExit3(t, d), readExit3(t, d)}
	if d.Stats().Skipped < 2 {
		t.Errorf("stats: %d records skipped, want at least 2", d.Stats().Skipped)
	}
	if !d.Stats().Full {
		t.Errorf("stats: not full while records are skipped")
	}
	os.Remove(filler)
	pid := exit3(t)
	waitFor(t, "writing resumed", func() bool { return countPid(shadowRecords(t, dir), pid) == 1 })
	for _, p := range skipped {
		if countPid(shadowRecords(t, dir), p) != 0 {
			t.Errorf("pid %d ended while full, and its record was copied", p)
		}
	}
	if logs.count("over 95% full") != 1 || logs.count("resumed") != 1 || logs.count("skipped=") != 1 {
		t.Errorf("want one line for the skip and one for the resumption, with the count:\n%s", logs)
	}
	if d.Stats().Full {
		t.Errorf("stats: full after writing resumed")
	}
}

// readExit3 runs a shell that exits with status 3 and returns its pid
// once d has read its record: on a busy machine the records of others
// would make a count of skipped records reach 2 before this one is read.
func readExit3(t *testing.T, d *Daemon) int {
	t.Helper()
	cmd := exec.Command("sh", "-c", "exit 3")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	d.Want(pid, time.Now())
	var exit *exec.ExitError
	if err := cmd.Wait(); err != nil && !errors.As(err, &exit) {
		t.Fatal(err)
	}
	waitFor(t, "the record of a shell read", func() bool {
		d.mu.Lock()
		defer d.mu.Unlock()
		_, ok := d.kept[pid]
		return ok
	})
	d.Unwant(pid)
	return pid
}
