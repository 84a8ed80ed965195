//go:build linux

package test

import (
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// A FIFO planted at a server's --log-file path (in a sticky directory,
// by anyone) is refused like a symlink: opening it must not wait for a
// reader, which would stop the one goroutine that reads every server's
// pipes. Reproduces the reader hanging in open(2) on the FIFO: no other
// server's line was logged again.
func TestOutputLogFileFIFO(t *testing.T) {
	dir := t.TempDir()
	if err := unix.Chmod(dir, 0o1777); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "f.log")
	if err := unix.Mkfifo(fifo, 0o666); err != nil {
		t.Fatal(err)
	}
	s := begin(t, "{", "@f", "--log-file="+fifo, selfBin, "helper", "count", "f", "1", "}",
		"{", "@g", selfBin, "helper", "count", "g", "20", "50ms", "}")
	s.waitLog(1, msg("respawn: log file not written", "name", "f"))
	s.waitCaptured("f", "stdout", 1)
	if err := counted(s.waitCaptured("g", "stdout", 20), "g", 20); err != nil {
		t.Error(err)
	}
	s.stop()
}
