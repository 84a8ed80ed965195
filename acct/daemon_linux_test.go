//go:build linux

package acct

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestIntegrationDaemonFiles checks what Start makes, as atopacctd does:
// the source (0600), the shadow directory (0755), shadow file 0 and
// current (0644) saying "0/10000", the private semaphore raised and the
// public one at 100 with its lock free; and that a process ending while a
// client is registered lands in shadow file 0 once, with its exit code.
func TestIntegrationDaemonFiles(t *testing.T) {
	d := startDaemon(t, Config{})
	dir := d.Stats().Dir
	for _, f := range []struct {
		name string
		mode os.FileMode
	}{
		{SourceName, 0o600},
		{ShadowDirName, os.ModeDir | 0o755},
		{filepath.Join(ShadowDirName, "0000000000.paf"), 0o644},
		{filepath.Join(ShadowDirName, CurrentName), 0o644},
	} {
		if fi, err := os.Lstat(filepath.Join(dir, f.name)); err != nil || fi.Mode() != f.mode {
			t.Errorf("%s: %v, want mode %v", f.name, err, f.mode)
		}
	}
	if got := readCurrent(t, dir); got != "0/10000" {
		t.Errorf("current %q, want 0/10000", got)
	}
	if v := privateValue(); v != 1 {
		t.Errorf("private semaphore %d, want 1", v)
	}
	pub, _ := semGet(PublicKey, 0, 0)
	if v0, _ := semCtl(pub, 0, getVal, 0); v0 != PublicTotal {
		t.Errorf("public semaphore 0 is %d, want %d", v0, PublicTotal)
	}
	if v1, _ := semCtl(pub, 1, getVal, 0); v1 != 1 {
		t.Errorf("public semaphore 1 is %d, want 1", v1)
	}
	runDaemon(t, d)
	addClient(t)
	pid := exit3(t)
	waitFor(t, "the record of the exit in the shadow file", func() bool { return countPid(shadowRecords(t, dir), pid) > 0 })
	for _, r := range shadowRecords(t, dir) {
		if r.Pid == uint32(pid) && r.PPid == uint32(os.Getpid()) && r.ExitCode != 3<<8 {
			t.Errorf("exit code %#x, want 0x300", r.ExitCode)
		}
	}
	if n := countPid(shadowRecords(t, dir), pid); n != 1 {
		t.Errorf("%d records of pid %d, want 1", n, pid)
	}
}

// TestIntegrationDaemonWantTake checks that the record of a wanted child
// is there for Take as soon as the child has been waited for: the kernel
// writes it before the parent learns of the death.
func TestIntegrationDaemonWantTake(t *testing.T) {
	d := startDaemon(t, Config{})
	cmd := exec.Command("sh", "-c", "read x; exit 3")
	stdin, _ := cmd.StdinPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d.Want(cmd.Process.Pid, time.Now())
	stdin.Close()
	cmd.Wait()
	r, ok := d.Take(cmd.Process.Pid)
	if !ok {
		t.Fatalf("no record for pid %d right after its wait", cmd.Process.Pid)
	}
	if r.ExitCode != 3<<8 || r.Btime.Sub(time.Now()).Abs() > 2*time.Second+time.Second {
		t.Errorf("record %+v: want exit code 0x300, begun within 2 s", r)
	}
	if _, ok := d.Take(cmd.Process.Pid); ok {
		t.Errorf("a second Take of pid %d found a record: Take must forget it", cmd.Process.Pid)
	}
	other := exit3(t)
	if _, ok := d.Take(other); ok {
		t.Errorf("Take found pid %d, which was never wanted", other)
	}
	if n, err := d.Pump(false); err != nil || n == 0 {
		t.Errorf("pump after take: %d records, %v: Take must leave the records to Pump", n, err)
	}
}

// TestIntegrationDaemonStop checks Stop: accounting off (a descriptor on
// the old source sees it grow no more), every file and the directory
// removed, the private semaphore back at 0 so that a new Start works at
// once, and a second Stop harmless.
func TestIntegrationDaemonStop(t *testing.T) {
	d := startDaemon(t, Config{})
	dir := d.Stats().Dir
	old, err := os.Open(filepath.Join(dir, SourceName))
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	if err := d.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if err := d.Stop(); err != nil {
		t.Fatalf("second stop: %v", err)
	}
	before, _ := old.Stat()
	exit3(t)
	if after, _ := old.Stat(); after.Size() != before.Size() {
		t.Errorf("the old source grew from %d to %d bytes after Stop: accounting is still on", before.Size(), after.Size())
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("left in %s after Stop: %v", dir, left)
	}
	if v := privateValue(); v != 0 {
		t.Errorf("private semaphore %d after Stop, want 0", v)
	}
	again, err := Start(Config{Dir: dir})
	if err != nil {
		t.Fatalf("start after stop: %v", err)
	}
	if err := again.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
}

// TestIntegrationDaemonRunning checks that a second daemon is refused
// while one runs, and that the refusal leaves the first untouched.
func TestIntegrationDaemonRunning(t *testing.T) {
	d := startDaemon(t, Config{})
	_, err := Start(Config{Dir: t.TempDir()})
	if !errors.Is(err, ErrRunning) {
		t.Fatalf("second start: %v, want ErrRunning", err)
	}
	runDaemon(t, d)
	addClient(t)
	pid := exit3(t)
	waitFor(t, "the first daemon still copying", func() bool { return countPid(shadowRecords(t, d.Stats().Dir), pid) == 1 })
}

// TestIntegrationDaemonSymlinks checks that a symlink planted at the
// source is not followed (it is replaced, its target untouched) and that
// one planted at the shadow directory fails Start, with everything undone.
func TestIntegrationDaemonSymlinks(t *testing.T) {
	dir, elsewhere := t.TempDir(), t.TempDir()
	target := filepath.Join(elsewhere, "target")
	os.WriteFile(target, nil, 0o600)
	os.Symlink(target, filepath.Join(dir, SourceName))
	d := startDaemon(t, Config{Dir: dir})
	exit3(t)
	d.Pump(false)
	if fi, err := os.Lstat(filepath.Join(dir, SourceName)); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("source: %v, want a regular file in place of the symlink", err)
	}
	if fi, _ := os.Stat(target); fi.Size() != 0 {
		t.Errorf("the symlink's target grew to %d bytes", fi.Size())
	}
	d.Stop()

	os.Symlink(elsewhere, filepath.Join(dir, ShadowDirName))
	if _, err := Start(Config{Dir: dir}); err == nil {
		t.Fatal("start with a symlink at the shadow directory succeeded")
	}
	if left, _ := os.ReadDir(elsewhere); len(left) != 1 {
		t.Errorf("the symlink's target directory holds %v, want only target", left)
	}
	if _, err := os.Lstat(filepath.Join(dir, SourceName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("source left after a failed start: %v", err)
	}
	if v := privateValue(); v != 0 {
		t.Errorf("private semaphore %d after a failed start, want 0", v)
	}
}

// TestIntegrationDaemonGarbage checks a forged source: a block of bytes
// that is no record and a record of an unknown version are skipped (and
// logged once), the records after them copied.
func TestIntegrationDaemonGarbage(t *testing.T) {
	log, logs := newLog()
	d := startDaemon(t, Config{Log: log})
	dir := d.Stats().Dir
	addClient(t)
	f, err := os.OpenFile(filepath.Join(dir, SourceName), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	junk := make([]byte, 3*Size)
	for i := range junk {
		junk[i] = 0xff
	}
	junk[2*Size+1] = 9 // version 9
	f.Write(junk)
	f.Close()
	pid := exit3(t)
	waitFor(t, "the record after the garbage", func() bool {
		d.Pump(false)
		return countPid(shadowRecords(t, dir), pid) == 1
	})
	if s := d.Stats(); s.Bad != 3 {
		t.Errorf("%d bad blocks counted, want 3", s.Bad)
	}
	if n := logs.count("no record"); n != 1 {
		t.Errorf("%d log lines of bad blocks, want 1:\n%s", n, logs)
	}
}

// TestIntegrationDaemonNoRecord checks the re-enable: accounting switched
// off behind the daemon's back is switched on again once no record came
// for NoRecord, and records come again.
func TestIntegrationDaemonNoRecord(t *testing.T) {
	log, logs := newLog()
	d := startDaemon(t, Config{NoRecord: 300 * time.Millisecond, Log: log})
	runDaemon(t, d)
	addClient(t)
	if err := Off(); err != nil {
		t.Fatal(err)
	}
	lost := exit3(t)
	waitFor(t, "accounting switched on again", func() bool { return d.Stats().Reenables > 0 })
	pid := exit3(t)
	recs := func() []Record { return shadowRecords(t, d.Stats().Dir) }
	waitFor(t, "a record after the re-enable", func() bool { return countPid(recs(), pid) == 1 })
	if countPid(recs(), lost) != 0 {
		t.Errorf("a record of pid %d, which ended while accounting was off", lost)
	}
	if logs.count("switched on again") == 0 {
		t.Errorf("no log line of the re-enable:\n%s", logs)
	}
}
