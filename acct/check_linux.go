//go:build linux

package acct

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// psacctFiles are the accounting files of psacct/acct that atop probes
// (acctproc.c): one that grows while a process ends is in use.
var psacctFiles = []string{"/var/log/pacct", "/var/account/pacct", "/var/log/account/pacct"}

// atopOwnFile is where an atop that found no daemon switches accounting on.
const atopOwnFile = "/var/cache/atop.d/atop.acct"

// checkRefusal is a refusal: its message is the one line a user reads,
// and it unwraps to one of the Err* refusals.
type checkRefusal struct {
	msg string
	err error
}

func (r *checkRefusal) Error() string { return r.msg }
func (r *checkRefusal) Unwrap() error { return r.err }

// refuse makes the refusal err with the message format, args.
func refuse(err error, format string, args ...any) error {
	return &checkRefusal{msg: "acct: " + fmt.Sprintf(format, args...), err: err}
}

// Check makes the refusals without changing anything (no semaphore made,
// no file created, accounting untouched), so that respawn can refuse to
// start before anything runs. In order:
//   - cfg.Dir (default DefaultDir) is a directory (stat follows no final
//     symlink: Lstat, a symlink is refused), owned by root, not writable
//     by group or others: else ErrUnsafeDir ("acct: /x is not owned by
//     root", "... is writable by group or others", "... is not a directory").
//   - the file system holding cfg.Dir is over 95% full (statfs:
//     f_bfree*100/f_blocks < 5, or f_blocks 0): ErrFull, with the path.
//   - the private semaphore PrivateKey exists with a value above 0: an
//     atopacctd or another respawn --acct runs: ErrRunning.
//   - another accounting is on: AtopKey's semaphore 1 below 100 (an atop
//     switched accounting on itself, to /var/cache/atop.d), or, as atop
//     itself tells: one of /var/log/pacct, /var/account/pacct,
//     /var/log/account/pacct grows while a child of ours ends (ProbeExit):
//     ErrOtherActive, naming the file.
//
// Must be root (CAP_SYS_PACCT): Check does not test that (Start fails).
func Check(cfg Config) error {
	dir := cfg.Dir
	if dir == "" {
		dir = DefaultDir
	}
	for _, check := range []func(string) error{checkDir, checkSpace, checkRunning, checkOther} {
		if err := check(dir); err != nil {
			return err
		}
	}
	return nil
}

// checkDir refuses a dir that is not a directory of root's that only
// root can write to; a final symlink is refused, not followed.
func checkDir(dir string) error {
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		return refuse(ErrUnsafeDir, "%s: %v", dir, os.NewSyscallError("lstat", err))
	}
	return unsafeDir(dir, &st)
}

// unsafeDir refuses st, dir's status, unless it is a directory of root's
// that only root can write to.
func unsafeDir(dir string, st *unix.Stat_t) error {
	switch {
	case st.Mode&unix.S_IFMT != unix.S_IFDIR:
		return refuse(ErrUnsafeDir, "%s is not a directory", dir)
	case st.Uid != 0:
		return refuse(ErrUnsafeDir, "%s is not owned by root (owner uid %d)", dir, st.Uid)
	case st.Mode&0o022 != 0:
		return refuse(ErrUnsafeDir, "%s is writable by group or others (mode %#o)", dir, st.Mode&0o7777)
	}
	return nil
}

// checkSpace refuses a dir on a file system with less than 5% of its
// blocks free, as atopacctd stops writing there.
func checkSpace(dir string) error {
	var fs unix.Statfs_t
	if err := unix.Statfs(dir, &fs); err != nil {
		return fmt.Errorf("acct: %s: %w", dir, os.NewSyscallError("statfs", err))
	}
	if fs.Blocks == 0 || fs.Bfree*100/fs.Blocks < 5 {
		return refuse(ErrFull, "%s is on a file system over 95%% full (%d of %d blocks free)", dir, fs.Bfree, fs.Blocks)
	}
	return nil
}

// checkRunning refuses when the private semaphore is above 0: a daemon
// that runs holds it raised. A set left at 0 is stale and is reused; one
// not root's alone is no daemon's, and a raise of this process's own
// (before a live upgrade's execve) is taken back by Start.
func checkRunning(string) error {
	v, err := daemonsOn()
	if err != nil || v == 0 {
		return err
	}
	return refuse(ErrRunning, "atopacctd or another respawn --acct is already running (semaphore %d is %d)", PrivateKey, v)
}

// checkOther refuses when another accounting is on: an atop's own (its
// semaphore 1 below PublicTotal while one uses it), or psacct's, told as
// atop tells it: its file grows while a process of ours ends.
func checkOther(string) error {
	v, ok, err := semRead(AtopKey, 1)
	if err != nil {
		return err
	}
	if ok && v < PublicTotal {
		return refuse(ErrOtherActive, "process accounting is on: an atop switched it on itself (to %s)", atopOwnFile)
	}
	before := sizesOf(psacctFiles)
	if len(before) == 0 {
		return nil
	}
	if err := ProbeExit(); err != nil {
		return err
	}
	for _, path := range psacctFiles {
		if size, ok := fileSize(path); ok && size > before[path] {
			return refuse(ErrOtherActive, "process accounting is on, to %s", path)
		}
	}
	return nil
}

// sizesOf returns the sizes of those of paths that exist.
func sizesOf(paths []string) map[string]int64 {
	sizes := map[string]int64{}
	for _, path := range paths {
		if size, ok := fileSize(path); ok {
			sizes[path] = size
		}
	}
	return sizes
}

// fileSize is the size of the file at path, if it exists.
func fileSize(path string) (int64, bool) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, false
	}
	return fi.Size(), true
}

// semRead reads semaphore n of the set key; ok is false when there is no
// such set.
func semRead(key, n int) (v int, ok bool, err error) {
	id, err := semGet(key, 0, 0)
	if errors.Is(err, unix.ENOENT) {
		return 0, false, nil
	}
	if err == nil {
		v, err = semCtl(id, n, getVal, 0)
	}
	if err != nil {
		return 0, false, fmt.Errorf("acct: semaphore set %d: %w", key, err)
	}
	return v, true, nil
}

// probeDir is what ProbeExit's child fails to execute: "/" is always a
// directory, and execve of a directory fails with EACCES.
const probeDir = "/"

// ProbeExit makes one process end at once and returns once it has ended:
// a fork whose exec fails (syscall.ForkExec of a directory: the child
// exits at once and ForkExec reaps it, unless the caller's own reaper was
// quicker), so it needs no program on disk. ForkExec gives no pid for a
// failed exec: its record is known by AFORK and a PPid of os.Getpid().
// Start skips the source up to and including that record.
func ProbeExit() error {
	_, err := syscall.ForkExec(probeDir, []string{probeDir}, &syscall.ProcAttr{})
	switch {
	case errors.Is(err, syscall.EACCES):
		return nil // the child ran, failed its exec and ended
	case err != nil:
		return fmt.Errorf("acct: probe: %w", os.NewSyscallError("fork", err))
	}
	return errors.New("acct: probe: the exec of a directory succeeded")
}
