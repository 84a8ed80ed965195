package acct

import (
	"errors"
	"time"
)

var errStub = errors.New("acct: not implemented")

// Daemon is respawn's atopacctd: it owns the kernel's process accounting,
// the source file and the shadow files. Its methods are safe for
// concurrent use (one mutex): the acct task's goroutine calls Pump and
// Tick, the event loop calls Want, Take, Stats and State.
type Daemon struct{}

// Start becomes the daemon, as atopacctd does: Check again; the private
// semaphore made (1 semaphore, 0600, value 0) or reused (a stale set left
// at 0 by a daemon that died), then raised by 1 with SEM_UNDO, so that it
// falls back when this process ends however it ends; the public set
// removed if it exists and made anew (2 semaphores, 0666; [0] = 100,
// [1] = 1); Dir/pacct_source unlinked and created (0600); an existing
// pacct_shadow.d renamed to pacct_shadow.d-old-PID; pacct_shadow.d made
// (0755), shadow file 0 created (0644) and current written ("0/MAXREC",
// 0644); accounting switched on to the source, then checked by a child of
// ours that ends at once (ProbeExit): its record must appear in the
// source within 2 s (40 tries 50 ms apart), and is skipped, never copied.
// On any failure everything is undone (accounting off with Off, files
// removed, the private semaphore lowered) and the error says what failed.
func Start(cfg Config) (*Daemon, error) { return nil, errStub }

// Adopt takes over after a live upgrade, from st and the two descriptors
// the old image kept (Files): it checks that source is the regular file
// Dir/pacct_source and shadow the current shadow file (same device and
// inode as the paths), reopens the current file and the semaphores
// without changing them (the private semaphore's SEM_UNDO raise survives
// execve), and leaves accounting as it is: on. An error leaves the
// descriptors to the caller.
func Adopt(cfg Config, st State, source, shadow int) (*Daemon, error) { return nil, errStub }

// Pump reads what the kernel appended to the source since the last read
// and copies it to the shadow files, as atopacctd's awaitprocterm does:
// with no client (public semaphore 0 at 100, taken under semaphore 1 with
// IPC_NOWAIT; a lock not taken counts as clients) nothing is copied and,
// if clients were seen before, every shadow file is removed and the
// sequence starts at 0 again; otherwise records go to the current shadow
// file, exactly MaxRecs a file, then the next file is created and current
// rewritten. The source is truncated (and read from 0) once what was read
// reaches MaxSource. A file system over 95% full skips the records (logged
// once, and when writing resumes with how many were skipped). When wait
// is set and nothing new is there, Pump retries 10 times, 25 ms apart (the
// record may lag the wake-up). It returns how many records it read.
// Records of wanted pids are kept for Take.
func (d *Daemon) Pump(wait bool) (int, error) { return 0, errStub }

// Tick does the timed work; the task calls it at least every second: gc
// every GCInterval (or when the clock went back) while clients are seen:
// each shadow file from the oldest up to, not including, the current is
// removed if a write lock on its byte 0 can be taken (F_SETLK F_WRLCK on a
// descriptor opened O_WRONLY; atop holds a read lock there), stopping at
// the first one in use. And when no record came for NoRecord: truncate
// the source and switch accounting on again (logged at warning).
func (d *Daemon) Tick(now time.Time) {}

// Want asks for the record of pid, a process that began at start (wall
// clock): Pump and Take keep it when it is read. A later Want of the same
// pid replaces it.
func (d *Daemon) Want(pid int, start time.Time) {}

// Unwant forgets pid's wish and any record kept for it.
func (d *Daemon) Unwant(pid int) {}

// Take reads the source first (without copying, so it costs one read and
// the parse of what is new), then returns and forgets pid's record if it
// has been read: a record whose begin time is within 2 s of the Want's
// start (ac_btime has whole seconds, and both ends are truncated). The
// wish stays while no record is found. It never blocks on anything but a
// read of the source.
func (d *Daemon) Take(pid int) (Record, bool) { return Record{}, false }

// Stats returns what the dump shows.
func (d *Daemon) Stats() Stats { return Stats{} }

// State returns what the next image needs, after a Pump (so that nothing
// read is left uncopied). The daemon must not be used after State but
// through Resume (the upgrade failed) or Close (it succeeded).
func (d *Daemon) State() State { return State{} }

// Files returns the source (read) and current shadow (write) descriptors
// for the next image to keep, cleared of close-on-exec by the caller.
func (d *Daemon) Files() (source, shadow int) { return -1, -1 }

// Stop ends the daemon as atopacctd does at its end: accounting off (Off),
// the source, the shadow files, current and the shadow directory removed,
// the private semaphore lowered (SEM_UNDO), descriptors closed. It is safe
// to call twice, and after a failed Start.
func (d *Daemon) Stop() error { return errStub }
