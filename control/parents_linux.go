//go:build linux

package control

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// checkPath refuses a socket directory that another user could swap
// for one of their own: the checks of the directory itself are made on a
// descriptor (checkDir), but the socket is bound, renamed and later
// reached by its path, so every directory above it must be as safe (owned
// by root or this user, and not writable by others unless sticky), and a
// symlink on the way must be owned by root or this user. checkPath checks
// dir and its ancestors as given; those that do not exist yet are
// skipped, as respawn creates them. checkResolved checks the ancestors of
// the directory the kernel resolved for fd.
func checkPath(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("control: %w", err)
	}
	return checkChain(abs, true)
}

func checkResolved(dir string, fd int) error {
	real, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
	if err != nil {
		return fmt.Errorf("control: %s: %w", dir, err)
	}
	return checkChain(real, false)
}

// checkChain checks dir and every directory above it. With self, dir is
// the path as given and is checked only if it is a symlink, whose owner
// could point it elsewhere (the directory itself is checkDir's).
func checkChain(dir string, self bool) error {
	for p := dir; ; p = filepath.Dir(p) {
		if err := checkAncestor(p, self && p == dir); err != nil {
			return err
		}
		if p == "/" || !filepath.IsAbs(p) {
			return nil
		}
	}
}

// checkAncestor checks one directory above the socket, or a symlink on
// the way to it; with linkOnly, p is checked only if it is a symlink.
func checkAncestor(p string, linkOnly bool) error {
	var st unix.Stat_t
	err := unix.Lstat(p, &st)
	switch {
	case errors.Is(err, unix.ENOENT):
		return nil
	case err != nil:
		return fmt.Errorf("control: %s: %w", p, os.NewSyscallError("lstat", err))
	case linkOnly && st.Mode&unix.S_IFMT != unix.S_IFLNK:
		return nil
	}
	if uid := uint32(os.Geteuid()); st.Uid != uid && st.Uid != 0 {
		return fmt.Errorf("control: %s: owned by uid %d, not by this user (%d) or root: refused on the way to the socket", p, st.Uid, uid)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR && st.Mode&0o022 != 0 && st.Mode&unix.S_ISVTX == 0 {
		return fmt.Errorf("control: %s: mode %#o lets other users rename what it holds, without the sticky bit: refused on the way to the socket", p, st.Mode&0o7777)
	}
	return nil
}
