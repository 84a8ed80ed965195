//go:build linux

package acct

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Probe of Start: 40 tries 50 ms apart for the probe's record.
const (
	probeTries = 40
	probeWait  = 50 * time.Millisecond
)

// withDefaults fills the zero fields of cfg with atopacctd's values.
func withDefaults(cfg Config) Config {
	if cfg.Dir == "" {
		cfg.Dir = DefaultDir
	}
	if cfg.MaxRecs <= 0 {
		cfg.MaxRecs = MaxShadowRec
	}
	if cfg.MaxSource <= 0 {
		cfg.MaxSource = MaxSourceSize
	}
	if cfg.GCInterval <= 0 {
		cfg.GCInterval = GCInterval
	}
	if cfg.NoRecord <= 0 {
		cfg.NoRecord = NoRecord
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return cfg
}

// newDaemon returns a daemon that holds nothing yet.
func newDaemon(cfg Config) *Daemon {
	return &Daemon{
		cfg: cfg, st: State{Dir: cfg.Dir}, pid: os.Getpid(),
		dir: -1, source: -1, shadow: -1, shadowDir: -1, priv: -1, pub: -1,
		wants: map[int]time.Time{}, kept: map[int]Record{}, recent: map[int]Record{},
		buf: make([]byte, readSize),
	}
}

// Start becomes the daemon, as atopacctd does: Check again; the private
// semaphore made (1 semaphore, 0600, value 0) or reused (a stale set left
// at 0 by a daemon that died; one not root's alone is made anew; one this
// process raised before an execve is lowered first), then raised by 1
// with SEM_UNDO, so that it falls back when this process ends however it
// ends; the public set removed if it exists and made anew (2 semaphores,
// 0666; [0] = 100, [1] = 1); Dir opened and checked again as Check checks
// it, every file then reached from that descriptor; Dir/pacct_source
// unlinked and created (0600); an existing pacct_shadow.d renamed to
// pacct_shadow.d-old-PID (-old-PID-N if this process left one before);
// pacct_shadow.d made (0755), shadow file 0 created (0644) and current
// written ("0/MAXREC", 0644); accounting switched on to the source (named
// through /proc/self/fd, as acct(2) takes no descriptor), then checked by
// a child of ours that ends at once (ProbeExit): its record must appear
// in the source within 2 s (40 tries 50 ms apart), and is skipped, never
// copied. On any failure everything is undone (accounting off with Off,
// files removed, the private semaphore lowered) and the error says what
// failed.
func Start(cfg Config) (*Daemon, error) {
	cfg = withDefaults(cfg)
	if err := Check(cfg); err != nil {
		return nil, err
	}
	d := newDaemon(cfg)
	if err := d.start(); err != nil {
		d.Stop()
		if d.pub >= 0 {
			semCtl(d.pub, 0, unix.IPC_RMID, 0)
		}
		return nil, err
	}
	return d, nil
}

// start does Start's steps in order; Stop undoes what was done.
func (d *Daemon) start() error {
	var err error
	if d.priv, err = raisePrivate(); err != nil {
		return err
	}
	d.raised = true
	if d.pub, err = makePublic(); err != nil {
		return err
	}
	if d.dir, err = openDir(d.cfg.Dir); err != nil {
		return err
	}
	if d.source, err = createSource(d.dir); err != nil {
		return err
	}
	if d.shadowDir, err = makeShadowDir(d.dir); err != nil {
		return err
	}
	if d.shadow, err = createShadow(d.shadowDir, 0); err != nil {
		return err
	}
	if err := writeCurrent(d.shadowDir, 0, d.cfg.MaxRecs); err != nil {
		return err
	}
	if err := On(d.inDir(SourceName)); err != nil {
		return fmt.Errorf("acct: switch accounting on to %s: %w", d.cfg.sourcePath(), err)
	}
	d.on = true
	return d.skipProbe()
}

// skipProbe makes a process end and waits for its record, which proves
// that the kernel writes to the source; the source is skipped up to and
// including it.
func (d *Daemon) skipProbe() error {
	if err := ProbeExit(); err != nil {
		return err
	}
	for i := 0; i < probeTries; i++ {
		if i > 0 {
			time.Sleep(probeWait)
		}
		if end, err := d.findProbe(); err != nil || end > 0 {
			d.st.SourceOff, d.peekOff = end, end
			d.st.RecSize = Size
			now := time.Now().UnixNano()
			d.st.LastRecNs, d.st.LastGCNs = now, now
			return err
		}
	}
	return fmt.Errorf("acct: no accounting record in %s within %v: accounting does not work", d.cfg.sourcePath(), probeTries*probeWait)
}

// findProbe returns the offset just past the probe's record in the
// source, or 0 when it is not there yet.
func (d *Daemon) findProbe() (int64, error) {
	for off := int64(0); off < d.cfg.MaxSource; {
		n, err := unix.Pread(d.source, d.buf, off)
		if err != nil {
			return 0, fmt.Errorf("acct: read %s: %w", SourceName, os.NewSyscallError("pread", err))
		}
		for i := 0; i+Size <= n; i += Size {
			r, _, err := Parse(d.buf[i:])
			if err == nil && r.Flags.Fork() && r.PPid == uint32(os.Getpid()) {
				return off + int64(i+Size), nil
			}
		}
		if n < len(d.buf) {
			return 0, nil
		}
		off += int64(n - n%Size)
	}
	return 0, nil
}

// Adopt takes over after a live upgrade, from st and the two descriptors
// the old image kept (Files): it checks that source is the regular file
// Dir/pacct_source, holding at least the bytes st says were read, and
// shadow the current shadow file (same device and inode as the paths),
// reopens the current file and the semaphores without changing them (the
// private semaphore's SEM_UNDO raise survives execve), and leaves
// accounting as it is: on. An error leaves the descriptors and the
// accounting to the caller; a Start may follow (it lowers the raise this
// process kept across execve).
func Adopt(cfg Config, st State, source, shadow int) (*Daemon, error) {
	cfg = withDefaults(cfg)
	d := newDaemon(cfg)
	if err := d.adopt(st, source, shadow); err != nil {
		d.closeAll()
		return nil, err
	}
	d.source, d.shadow = source, shadow
	d.st, d.peekOff = st, st.SourceOff
	d.raised, d.on = true, true
	holders.Add(1)
	return d, nil
}

// adopt checks st and the descriptors against the files and opens the
// directories and semaphores; it changes nothing.
func (d *Daemon) adopt(st State, source, shadow int) error {
	if err := d.checkState(st); err != nil {
		return err
	}
	var err error
	if d.dir, err = openDir(d.cfg.Dir); err != nil {
		return err
	}
	if d.shadowDir, err = unix.Openat(d.dir, ShadowDirName, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0); err != nil {
		return fmt.Errorf("acct: %s: %w", ShadowDirName, os.NewSyscallError("openat", err))
	}
	if err := sameFile(source, d.dir, SourceName); err != nil {
		return err
	}
	size, err := fdSize(source)
	if err != nil {
		return fmt.Errorf("acct: %s: %w", SourceName, err)
	}
	if st.SourceOff > size {
		return fmt.Errorf("acct: the state has read %d bytes of a source of %d bytes", st.SourceOff, size)
	}
	if err := sameFile(shadow, d.shadowDir, shadowName(st.Seq)); err != nil {
		return err
	}
	if size, err = fdSize(shadow); err != nil {
		return fmt.Errorf("acct: shadow file %d: %w", st.Seq, err)
	}
	if size != st.ShadowRecs*Size {
		return fmt.Errorf("acct: shadow file %d holds %d bytes, the state says %d records", st.Seq, size, st.ShadowRecs)
	}
	return d.openSems()
}

// maxBacklog bounds the shadow files between the oldest and the current
// one that a state may claim: the gc and Stop go through each name, under
// the mutex the event loop takes too.
const maxBacklog = 1 << 16

// checkState bounds what a snapshot says.
func (d *Daemon) checkState(st State) error {
	switch {
	case st.Dir != d.cfg.Dir:
		return fmt.Errorf("acct: the state is of %s, not %s", st.Dir, d.cfg.Dir)
	case st.RecSize != 0 && st.RecSize != Size, st.SourceOff < 0, st.SourceOff%Size != 0,
		st.Oldest > st.Seq, st.Seq-st.Oldest > maxBacklog, st.ShadowRecs < 0, st.ShadowRecs > int64(d.cfg.MaxRecs):
		return fmt.Errorf("acct: a state out of bounds: %+v", st)
	}
	return nil
}

// openSems opens both sets as they are: the private one's raise, made
// with SEM_UNDO, survived execve.
func (d *Daemon) openSems() error {
	var err error
	if d.priv, err = semGet(PrivateKey, 0, 0); err != nil {
		return fmt.Errorf("acct: private semaphore %d: %w", PrivateKey, err)
	}
	if d.pub, err = semGet(PublicKey, 0, 0); err != nil {
		return fmt.Errorf("acct: public semaphore %d: %w", PublicKey, err)
	}
	return nil
}

// Stop ends the daemon as atopacctd does at its end: accounting off (Off),
// the source, the shadow files, current and the shadow directory removed,
// the private semaphore lowered (SEM_UNDO), descriptors closed. It is safe
// to call twice, and after a failed Start.
func (d *Daemon) Stop() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopped {
		return nil
	}
	d.stopped = true
	var errs []error
	if d.on {
		errs = append(errs, Off())
	}
	if d.source >= 0 {
		errs = append(errs, unlink(d.dir, SourceName, 0), unlink(d.dir, sourceTemp, 0))
	}
	if d.shadowDir >= 0 {
		errs = append(errs, d.removeShadows(d.st.Seq+1))
		errs = append(errs, unlink(d.shadowDir, CurrentName, 0), unlink(d.shadowDir, currentTemp, 0))
		errs = append(errs, unlink(d.dir, ShadowDirName, unix.AT_REMOVEDIR))
	}
	d.closeAll()
	if d.raised {
		errs = append(errs, lowerPrivate(d.priv))
	}
	return errors.Join(errs...)
}

// closeAll closes every descriptor the daemon holds.
func (d *Daemon) closeAll() {
	for _, fd := range []*int{&d.dir, &d.source, &d.shadow, &d.shadowDir} {
		if *fd >= 0 {
			unix.Close(*fd)
			*fd = -1
		}
	}
}

// State returns what the next image needs, after a Pump (so that nothing
// read is left uncopied). The daemon must not be used after State but
// through Thaw (the upgrade failed) or Close (it succeeded): State
// freezes it, so that no Pump or Tick moves it past what State returned.
func (d *Daemon) State() State {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.frozen = true
	return d.st
}

// Thaw lets the daemon go on after State froze it for a live upgrade
// that failed.
func (d *Daemon) Thaw() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.frozen = false
}

// Close lets go of the daemon after State, when the upgrade succeeded in
// this process (Adopt on duplicates of Files): it closes its descriptors
// and changes nothing else, leaving accounting, files and semaphores to
// the adopter.
func (d *Daemon) Close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.stopped = true
	d.closeAll()
	if d.raised {
		d.raised = false
		holders.Add(-1) // the adopter holds the raise now
	}
}

// Files returns the source (read) and current shadow (write) descriptors
// for the next image to keep, cleared of close-on-exec by the caller.
func (d *Daemon) Files() (source, shadow int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.source, d.shadow
}

// Stats returns what the dump shows.
func (d *Daemon) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.stats
	s.Dir, s.Seq, s.Oldest, s.Copied = d.st.Dir, d.st.Seq, d.st.Oldest, d.st.Copied
	s.Skipped, s.Full = d.st.Skipped, d.st.Skipped > 0
	if d.stopped {
		return s
	}
	if v, err := semCtl(d.pub, 0, getVal, 0); err == nil {
		s.Clients = PublicTotal - v
	}
	return s
}
