//go:build linux

package acct

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// The files of the daemon are made and opened relative to descriptors of
// their directories, and never through a symlink: a name planted in Dir
// before Start is unlinked (pacct_source) or refused (pacct_shadow.d).

// currentTemp is where current is written before it is renamed over
// current, so that a reader never sees it empty.
const currentTemp = CurrentName + ".new"

// openDir opens the directory path, not through a final symlink, and
// refuses what it opened as Check refuses the path: a directory put in
// its place since Check, through a parent others may write to, is not
// used.
func openDir(path string) (int, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("acct: %s: %w", path, os.NewSyscallError("open", err))
	}
	var st unix.Stat_t
	if err = unix.Fstat(fd, &st); err != nil {
		err = fmt.Errorf("acct: %s: %w", path, os.NewSyscallError("fstat", err))
	} else {
		err = unsafeDir(path, &st)
	}
	if err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// inDir is name in the daemon's directory as a path for acct(2), which
// takes no descriptor: through /proc/self/fd, so that the kernel opens it
// in the directory Start opened, wherever the path Dir leads now.
func (d *Daemon) inDir(name string) string {
	return "/proc/self/fd/" + strconv.Itoa(d.dir) + "/" + name
}

// createFile makes name in the directory dir anew, with exactly mode
// (whatever the umask), and returns it open with flags.
func createFile(dir int, name string, flags int, mode uint32) (int, error) {
	fd, err := unix.Openat(dir, name, flags|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, mode)
	if err != nil {
		return -1, fmt.Errorf("acct: create %s: %w", name, os.NewSyscallError("openat", err))
	}
	if err := unix.Fchmod(fd, mode); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("acct: create %s: %w", name, os.NewSyscallError("fchmod", err))
	}
	return fd, nil
}

// unlink removes name from the directory dir; a name already gone is no
// error.
func unlink(dir int, name string, flags int) error {
	err := unix.Unlinkat(dir, name, flags)
	if err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("acct: remove %s: %w", name, os.NewSyscallError("unlinkat", err))
	}
	return nil
}

// createSource makes Dir/pacct_source anew (0600) and returns it open for
// reading and truncation.
func createSource(dir int) (int, error) {
	if err := unlink(dir, SourceName, 0); err != nil {
		return -1, err
	}
	return createFile(dir, SourceName, unix.O_RDWR, 0o600)
}

// makeShadowDir renames an existing pacct_shadow.d directory (left by a
// daemon that was killed) aside (keepOld), makes it anew (0755)
// and returns it open. Any other entry of that name fails mkdir.
func makeShadowDir(dir int) (int, error) {
	var st unix.Stat_t
	err := unix.Fstatat(dir, ShadowDirName, &st, unix.AT_SYMLINK_NOFOLLOW)
	if err == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR {
		if err := keepOld(dir); err != nil {
			return -1, err
		}
	}
	if err := unix.Mkdirat(dir, ShadowDirName, 0o755); err != nil {
		return -1, fmt.Errorf("acct: %s: %w", ShadowDirName, os.NewSyscallError("mkdirat", err))
	}
	fd, err := unix.Openat(dir, ShadowDirName, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err == nil {
		err = unix.Fchmod(fd, 0o755)
	}
	if err != nil {
		unix.Unlinkat(dir, ShadowDirName, unix.AT_REMOVEDIR)
		return -1, fmt.Errorf("acct: %s: %w", ShadowDirName, os.NewSyscallError("openat", err))
	}
	return fd, nil
}

// maxOld bounds the old shadow directories of one pid that keepOld names.
const maxOld = 1000

// keepOld renames the shadow directory a daemon left to
// pacct_shadow.d-old-PID, as atopacctd does, or to -old-PID-N when that
// name is taken: this process left one already (a live upgrade whose new
// image did not take its daemon over starts anew, and may again).
func keepOld(dir int) error {
	base := ShadowDirName + "-old-" + strconv.Itoa(os.Getpid())
	name := base
	for n := 2; ; n++ {
		err := unix.Renameat2(dir, ShadowDirName, dir, name, unix.RENAME_NOREPLACE)
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.EEXIST) || n > maxOld {
			return fmt.Errorf("acct: rename %s to %s: %w", ShadowDirName, name, os.NewSyscallError("renameat2", err))
		}
		name = base + "-" + strconv.Itoa(n)
	}
}

// shadowName is the name of the shadow file seq.
func shadowName(seq uint64) string {
	return fmt.Sprintf(ShadowFormat, seq)
}

// createShadow makes the shadow file seq anew (0644) and returns it open
// for writing.
func createShadow(dir int, seq uint64) (int, error) {
	if err := unlink(dir, shadowName(seq), 0); err != nil {
		return -1, err
	}
	return createFile(dir, shadowName(seq), unix.O_WRONLY, 0o644)
}

// writeCurrent writes "SEQ/MAXREC" to current (0644), through a rename
// so that a reader sees the old or the new text, never a part of it.
func writeCurrent(dir int, seq uint64, maxRecs int) error {
	if err := unlink(dir, currentTemp, 0); err != nil {
		return err
	}
	fd, err := createFile(dir, currentTemp, unix.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, err = unix.Write(fd, []byte(strconv.FormatUint(seq, 10)+"/"+strconv.Itoa(maxRecs)))
	unix.Close(fd)
	if err == nil {
		err = unix.Renameat(dir, currentTemp, dir, CurrentName)
	}
	if err != nil {
		return fmt.Errorf("acct: write %s: %w", CurrentName, os.NewSyscallError("write", err))
	}
	return nil
}

// sameFile fails unless fd is the regular file at name in the directory
// dir (same device and inode), which is not a symlink.
func sameFile(fd, dir int, name string) error {
	var a, b unix.Stat_t
	err := unix.Fstat(fd, &a)
	if err == nil {
		err = unix.Fstatat(dir, name, &b, unix.AT_SYMLINK_NOFOLLOW)
	}
	if err != nil {
		return fmt.Errorf("acct: %s: %w", name, os.NewSyscallError("stat", err))
	}
	if a.Mode&unix.S_IFMT != unix.S_IFREG || a.Dev != b.Dev || a.Ino != b.Ino {
		return fmt.Errorf("acct: descriptor %d is not the regular file %s", fd, name)
	}
	return nil
}

// fdSize returns the size of the open file fd.
func fdSize(fd int) (int64, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return 0, os.NewSyscallError("fstat", err)
	}
	return st.Size, nil
}

// sourcePath is where the kernel appends its records.
func (c *Config) sourcePath() string {
	return filepath.Join(c.Dir, SourceName)
}
