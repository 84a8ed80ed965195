//go:build linux

package acct

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// sourceTemp is the new source while accounting is switched over to it.
const sourceTemp = SourceName + ".new"

// renew empties the source, as atopacctd's truncation does, without its
// loss: truncating the file the kernel appends to drops the records
// written between the last read and the truncation, where a burst writes
// some. Instead accounting is switched to a new empty file (acct(2) on
// it returns once the old one is written and closed), the old one is read
// to its end and the new one renamed over it. It returns the records read.
func (d *Daemon) renew() (int, error) {
	if err := unlink(d.dir, sourceTemp, 0); err != nil {
		return 0, err
	}
	fd, err := createFile(d.dir, sourceTemp, unix.O_RDWR, 0o600)
	if err != nil {
		return 0, err
	}
	if err := On(d.inDir(sourceTemp)); err != nil {
		unix.Close(fd)
		unix.Unlinkat(d.dir, sourceTemp, 0)
		return 0, fmt.Errorf("acct: switch accounting on to %s: %w", sourceTemp, err)
	}
	n, err := d.drain()
	if rerr := unix.Renameat(d.dir, sourceTemp, d.dir, SourceName); rerr != nil && err == nil {
		err = fmt.Errorf("acct: rename %s: %w", sourceTemp, os.NewSyscallError("renameat", rerr))
	}
	unix.Close(d.source)
	d.source, d.st.SourceOff, d.peekOff = fd, 0, 0
	d.stats.Truncates++
	return n, err
}

// drain reads the source to its end, which the kernel no longer writes.
func (d *Daemon) drain() (int, error) {
	total := 0
	for {
		n, more, err := d.readChunk()
		total += n
		if err != nil || !more {
			return total, err
		}
	}
}
