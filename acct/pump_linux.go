//go:build linux

package acct

import (
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// A read of the source is at most readSize bytes (1024 records), and one
// Pump or Take reads at most maxReads of them: a storm cannot hold the
// mutex for long, and what is left is read at the next wake-up.
const (
	readSize  = 1024 * Size
	maxReads  = 64
	pumpTries = 10
	pumpRetry = 25 * time.Millisecond
	wantSlack = 2 * time.Second // ac_btime has whole seconds
	recentMax = 1024            // records of pids not wanted, remembered
)

var errStopped = errors.New("acct: the daemon is stopped")

// Pump reads what the kernel appended to the source since the last read
// and copies it to the shadow files, as atopacctd's awaitprocterm does:
// with no client (public semaphore 0 at 100, taken under semaphore 1 with
// IPC_NOWAIT; a lock not taken counts as clients) nothing is copied and,
// if clients were seen before, every shadow file is removed and the
// sequence starts at 0 again; otherwise records go to the current shadow
// file, exactly MaxRecs a file, then the next file is created and current
// rewritten. The source is emptied (renew: accounting switched over to a
// new empty source, the old one read to its end) once what was read
// reaches MaxSource. A file system over 95% full skips the records (logged
// once, and when writing resumes with how many were skipped). When wait
// is set and nothing new is there, Pump retries 10 times, 25 ms apart (the
// record may lag the wake-up). It returns how many records it read.
// Records of wanted pids are kept for Take.
func (d *Daemon) Pump(wait bool) (int, error) {
	tries := 1
	if wait {
		tries = pumpTries
	}
	for i := 0; ; i++ {
		n, err := d.pump()
		if n > 0 || err != nil || i+1 >= tries {
			return n, err
		}
		time.Sleep(pumpRetry)
	}
}

// pump reads and copies what is new in the source, once.
func (d *Daemon) pump() (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopped {
		return 0, errStopped
	}
	if d.frozen {
		return 0, nil
	}
	total := 0
	for i := 0; i < maxReads; i++ {
		n, more, err := d.readChunk()
		total += n
		if err != nil {
			return total, err
		}
		if more {
			continue
		}
		if d.st.SourceOff >= d.cfg.MaxSource {
			n, err = d.renew()
			total += n
		}
		return total, err
	}
	return total, nil
}

// readChunk reads the whole records at SourceOff, keeps the wanted ones
// and copies them to the shadow files; more says a full buffer was read.
func (d *Daemon) readChunk() (n int, more bool, err error) {
	got, err := unix.Pread(d.source, d.buf, d.st.SourceOff)
	if err != nil {
		return 0, false, fmt.Errorf("acct: read %s: %w", SourceName, os.NewSyscallError("pread", err))
	}
	whole := got - got%Size
	if whole == 0 {
		return 0, false, nil
	}
	d.st.SourceOff += int64(whole)
	recs := d.scan(d.buf[:whole])
	n = len(recs) / Size
	d.stats.Records += uint64(n)
	d.st.LastRecNs = time.Now().UnixNano()
	if d.peekOff < d.st.SourceOff {
		d.peekOff = d.st.SourceOff
	}
	return n, got == len(d.buf), d.deliver(recs)
}

// scan keeps the records of b that are wanted, moves every record to the
// front of b (a block that is no record is counted and dropped, logged
// once) and returns them.
func (d *Daemon) scan(b []byte) []byte {
	w := 0
	for off := 0; off < len(b); off += Size {
		r, _, err := Parse(b[off : off+Size])
		if err != nil {
			d.badBlock(err)
			continue
		}
		if r.Pid == uint32(d.pid) {
			continue // acct(2) writes this process's record to the file it leaves
		}
		d.keep(&r)
		copy(b[w:], b[off:off+Size])
		w += Size
	}
	return b[:w]
}

// badBlock counts a 64-byte block of the source that is no record.
func (d *Daemon) badBlock(err error) {
	d.stats.Bad++
	if !d.garbage {
		d.garbage = true
		d.cfg.Log.Warn("acct: the source holds bytes that are no record; skipped, 64 at a time",
			"source", d.cfg.sourcePath(), "offset", d.st.SourceOff, "err", err)
	}
}

// keep keeps r when its pid is wanted and it began when the wish says;
// a record no one asked for is remembered for a Want that comes later.
func (d *Daemon) keep(r *Record) {
	start, ok := d.wants[int(r.Pid)]
	if !ok {
		d.remember(r)
		return
	}
	if began(r, start) {
		d.kept[int(r.Pid)] = *r
	}
}

// began reports whether r is of a process that began at start: within 2 s
// (ac_btime has whole seconds, and both ends are truncated).
func began(r *Record, start time.Time) bool {
	dt := r.Btime.Sub(start)
	return dt <= wantSlack && dt >= -wantSlack
}

// remember keeps r among the recentMax latest records of pids not
// wanted: a server that ends within milliseconds of its spawn may be
// read (its exit wakes the task) before the event loop has asked for it.
func (d *Daemon) remember(r *Record) {
	pid := int(r.Pid)
	if _, ok := d.recent[pid]; !ok {
		if len(d.recentQ) >= recentMax {
			delete(d.recent, d.recentQ[0])
			d.recentQ = d.recentQ[1:]
		}
		d.recentQ = append(d.recentQ, pid)
	}
	d.recent[pid] = *r
}

// deliver copies recs to the shadow files while atop clients are there;
// when the last one has gone, every shadow file is removed and the
// sequence starts at 0 again.
func (d *Daemon) deliver(recs []byte) error {
	if n, ok := clients(d.pub); ok && n <= 0 {
		if d.st.Busy {
			return d.reset()
		}
		return nil
	}
	d.st.Busy = true
	for len(recs) > 0 {
		room := (int64(d.cfg.MaxRecs) - d.st.ShadowRecs) * Size
		part := min(room, int64(len(recs)))
		if err := d.write(recs[:part]); err != nil {
			return err
		}
		recs = recs[part:]
		if d.st.ShadowRecs >= int64(d.cfg.MaxRecs) {
			if err := d.rotate(d.st.Seq + 1); err != nil {
				return err
			}
		}
	}
	return nil
}

// write appends recs to the current shadow file, or skips them while its
// file system is over 95% full.
func (d *Daemon) write(recs []byte) error {
	if d.full() {
		if d.st.Skipped == 0 {
			d.cfg.Log.Warn("acct: file system over 95% full; shadow writing skipped", "dir", d.cfg.Dir)
		}
		d.st.Skipped += uint64(len(recs) / Size)
		return nil
	}
	if d.st.Skipped > 0 {
		d.cfg.Log.Warn("acct: shadow writing resumed", "dir", d.cfg.Dir, "skipped", d.st.Skipped)
		d.st.Skipped = 0
	}
	for off := d.st.ShadowRecs * Size; len(recs) > 0; {
		n, err := unix.Pwrite(d.shadow, recs, off)
		if err != nil {
			return fmt.Errorf("acct: write shadow file %d: %w", d.st.Seq, os.NewSyscallError("pwrite", err))
		}
		recs, off = recs[n:], off+int64(n)
		d.st.ShadowRecs, d.st.Copied = off/Size, d.st.Copied+uint64(n/Size)
	}
	return nil
}

// full reports whether the shadow files' file system is over 95% full,
// as atopacctd tells it: free blocks, reserved ones included.
func (d *Daemon) full() bool {
	var fs unix.Statfs_t
	if unix.Fstatfs(d.shadow, &fs) != nil {
		return false
	}
	return fs.Blocks == 0 || fs.Bfree*100/fs.Blocks < 5
}

// rotate makes seq the current shadow file: created, then named in
// current, then the old one closed.
func (d *Daemon) rotate(seq uint64) error {
	fd, err := createShadow(d.shadowDir, seq)
	if err != nil {
		return err
	}
	if err := writeCurrent(d.shadowDir, seq, d.cfg.MaxRecs); err != nil {
		unix.Close(fd)
		return err
	}
	unix.Close(d.shadow)
	d.shadow, d.st.Seq, d.st.ShadowRecs = fd, seq, 0
	return nil
}

// reset starts at 0 again, the last client having gone: every shadow
// file but the current one is removed, and the current one is emptied
// in place and named 0. Emptied, not replaced: an atop that registers as
// the last one leaves may hold it open already, waiting for a record in
// it (its start-up probe), and must see the next one written. It is
// linked as 0 before current says 0, and its old name removed after, so
// that an atop reading current always finds the file named (atop aborts
// when it does not).
func (d *Daemon) reset() error {
	if err := d.removeShadows(d.st.Seq); err != nil {
		return err
	}
	if err := unix.Ftruncate(d.shadow, 0); err != nil {
		return fmt.Errorf("acct: empty shadow file %d: %w", d.st.Seq, os.NewSyscallError("ftruncate", err))
	}
	if seq := d.st.Seq; seq != 0 {
		if err := unix.Linkat(d.shadowDir, shadowName(seq), d.shadowDir, shadowName(0), 0); err != nil {
			return fmt.Errorf("acct: name shadow file %d as 0: %w", seq, os.NewSyscallError("linkat", err))
		}
		if err := writeCurrent(d.shadowDir, 0, d.cfg.MaxRecs); err != nil {
			return err
		}
		if err := unlink(d.shadowDir, shadowName(seq), 0); err != nil {
			return err
		}
	}
	d.st.Oldest, d.st.Seq, d.st.ShadowRecs, d.st.Busy = 0, 0, 0, false
	return nil
}

// removeShadows removes the shadow files from Oldest up to end, excluded.
func (d *Daemon) removeShadows(end uint64) error {
	for ; d.st.Oldest < end; d.st.Oldest++ {
		if err := unlink(d.shadowDir, shadowName(d.st.Oldest), 0); err != nil {
			return err
		}
	}
	return nil
}

// Want asks for the record of pid, a process that began at start (wall
// clock): Pump and Take keep it when it is read, or kept it if it was
// among the last recentMax records read before. A later Want of the same
// pid replaces it.
func (d *Daemon) Want(pid int, start time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.wants[pid] = start
	delete(d.kept, pid)
	if r, ok := d.recent[pid]; ok && began(&r, start) {
		d.kept[pid] = r // read before this wish
	}
}

// Unwant forgets pid's wish and any record kept for it.
func (d *Daemon) Unwant(pid int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.wants, pid)
	delete(d.kept, pid)
}

// Take reads the source first (without copying, so it costs one read and
// the parse of what is new), then returns and forgets pid's record if it
// has been read: a record whose begin time is within 2 s of the Want's
// start (ac_btime has whole seconds, and both ends are truncated). The
// wish stays while no record is found. It never blocks on anything but a
// read of the source.
func (d *Daemon) Take(pid int) (Record, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.wants[pid]; !ok {
		return Record{}, false
	}
	if _, ok := d.kept[pid]; !ok && !d.stopped {
		d.peek()
	}
	r, ok := d.kept[pid]
	if ok {
		delete(d.kept, pid)
		delete(d.wants, pid)
	}
	return r, ok
}

// peek reads what is new in the source beyond what was read or peeked,
// for the wanted records only: Pump copies it later.
func (d *Daemon) peek() {
	for i := 0; i < maxReads; i++ {
		off := max(d.peekOff, d.st.SourceOff)
		got, err := unix.Pread(d.source, d.buf, off)
		if err != nil || got < Size {
			return
		}
		whole := got - got%Size
		for i := 0; i < whole; i += Size {
			if r, _, err := Parse(d.buf[i : i+Size]); err == nil {
				d.keep(&r)
			}
		}
		d.peekOff = off + int64(whole)
		if got < len(d.buf) {
			return
		}
	}
}
