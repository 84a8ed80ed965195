//go:build linux

package acct

import (
	"testing"
	"time"
)

// TestIntegrationDaemonWantAfterRead checks that a record read before
// its Want is still there for Take: a server that ends within
// milliseconds of its spawn is read by Pump (its exit wakes the task)
// before the event loop has asked for it. Such a death used to get no
// record (about one crash-looping server in ten under load).
func TestIntegrationDaemonWantAfterRead(t *testing.T) {
	d := startDaemon(t, Config{})
	start := time.Now()
	pid := exit3(t) // waited for: its record is in the source
	if _, err := d.Pump(false); err != nil {
		t.Fatal(err)
	}
	d.Want(pid, start)
	r, ok := d.Take(pid)
	if !ok {
		t.Fatalf("no record for pid %d, read before its Want", pid)
	}
	if r.ExitCode != 3<<8 {
		t.Errorf("record %+v: want exit code 0x300", r)
	}
	d.Want(pid, start.Add(-time.Hour))
	if _, ok := d.Take(pid); ok {
		t.Errorf("Take of pid %d begun an hour earlier found the record of a process begun now", pid)
	}
}
