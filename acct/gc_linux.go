//go:build linux

package acct

import (
	"errors"
	"time"

	"golang.org/x/sys/unix"
)

// Tick does the timed work; the task calls it at least every second: gc
// every GCInterval (or when the clock went back) while clients are seen:
// each shadow file from the oldest up to, not including, the current is
// removed if a write lock on its byte 0 can be taken (F_OFD_SETLK F_WRLCK
// on a descriptor opened O_WRONLY; atop holds a read lock there), stopping
// at the first one in use. And when no record came for NoRecord: empty the
// source and switch accounting on again (renew, logged at warning).
func (d *Daemon) Tick(now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopped || d.frozen {
		return
	}
	last := time.Unix(0, d.st.LastGCNs)
	if d.st.Busy && (now.Sub(last) >= d.cfg.GCInterval || now.Before(last)) {
		d.gc()
		d.st.LastGCNs = now.UnixNano()
	}
	if d.st.LastRecNs != 0 && now.Sub(time.Unix(0, d.st.LastRecNs)) > d.cfg.NoRecord {
		d.reenable(now)
	}
}

// gc removes the shadow files no reader uses, oldest first, up to the
// current one excluded, and stops at the first one in use.
func (d *Daemon) gc() {
	for ; d.st.Oldest < d.st.Seq; d.st.Oldest++ {
		name := shadowName(d.st.Oldest)
		if d.inUse(name) || unlink(d.shadowDir, name, 0) != nil {
			return
		}
	}
}

// inUse reports whether a reader holds a read lock on byte 0 of the shadow
// file name: a write lock there cannot be taken. The probe is an open file
// description lock, which conflicts with atop's POSIX lock as F_SETLK's
// would, but never replaces a lock of this process's own.
func (d *Daemon) inUse(name string) bool {
	fd, err := unix.Openat(d.shadowDir, name, unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		return false
	}
	if err != nil {
		return true
	}
	defer unix.Close(fd)
	lock := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: 0, Len: 1}
	return unix.FcntlFlock(uintptr(fd), unix.F_OFD_SETLK, &lock) != nil
}

// reenable switches accounting on again to an empty source, no record
// having come for NoRecord: something else may have switched it off.
func (d *Daemon) reenable(now time.Time) {
	_, err := d.renew()
	d.st.LastRecNs = now.UnixNano()
	d.stats.Reenables++
	d.cfg.Log.Warn("acct: no accounting record for a while; accounting switched on again",
		"quiet", d.cfg.NoRecord, "source", d.cfg.sourcePath(), "err", err)
}
