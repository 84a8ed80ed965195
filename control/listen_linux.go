//go:build linux

package control

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// probeTimeout bounds the connect that tells a live socket from a stale one.
const probeTimeout = time.Second

func listen(path string) (*net.UnixListener, error) {
	if len(path) >= len(unix.RawSockaddrUnix{}.Path) {
		return nil, fmt.Errorf("control: socket path %q: longer than %d bytes", path, len(unix.RawSockaddrUnix{}.Path)-1)
	}
	dir := filepath.Dir(path)
	if err := checkPath(dir); err != nil {
		return nil, err // before MkdirAll makes anything there
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("control: %w", err)
	}
	dirFD, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	defer unix.Close(dirFD)
	if err := checkFree(path); err != nil {
		return nil, err
	}
	return bindAt(dirFD, path)
}

// lockDir opens dir, checks that it is safe to hold the socket (checkDir,
// checkResolved) and takes an flock on it, held until the returned
// descriptor is closed, so that two supervisors starting at once do not
// both take a stale socket for theirs. It waits at most lockTimeout for a
// lock another process holds.
func lockDir(dir string) (int, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("control: %s: %w", dir, os.NewSyscallError("open", err))
	}
	err = checkDir(dir, fd)
	if err == nil {
		err = checkResolved(dir, fd)
	}
	if err == nil {
		err = flockBounded(dir, fd, lockTimeout)
	}
	if err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// lockTimeout bounds the wait for the directory's lock: a supervisor
// starting beside another is done in milliseconds, so a lock held longer
// is a stuck process, not a race.
var lockTimeout = 3 * time.Second

// flockBounded takes an exclusive flock on fd, polling until d has passed.
func flockBounded(dir string, fd int, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, unix.EINTR):
			continue
		case !errors.Is(err, unix.EWOULDBLOCK):
			return fmt.Errorf("control: %s: %w", dir, os.NewSyscallError("flock", err))
		case time.Now().After(deadline):
			return fmt.Errorf("control: %s: locked by another process for %v: %w", dir, d, os.NewSyscallError("flock", err))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// checkDir refuses a socket directory that someone else could fill:
// one owned by another user (not root), or one that other users may
// write to without the sticky bit. Either would let them replace the
// socket, or put their own file where the supervisor expects its own.
func checkDir(dir string, fd int) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("control: %s: %w", dir, os.NewSyscallError("fstat", err))
	}
	if uid := uint32(os.Geteuid()); st.Uid != uid && st.Uid != 0 {
		return fmt.Errorf("control: %s: owned by uid %d, not by this user (%d) or root: refused as the socket's directory", dir, st.Uid, uid)
	}
	if st.Mode&0o022 != 0 && st.Mode&unix.S_ISVTX == 0 {
		return fmt.Errorf("control: %s: mode %#o lets other users write there, without the sticky bit: refused as the socket's directory", dir, st.Mode&0o7777)
	}
	return nil
}

// checkFree returns nil if path is absent or a stale socket, which the
// caller may replace.
func checkFree(path string) error {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("control: %w", err)
	case fi.Mode()&os.ModeSocket == 0:
		return fmt.Errorf("control: %s exists and is not a socket", path)
	}
	live, err := probe(path)
	if err != nil {
		return err
	}
	if live {
		return fmt.Errorf("%w: %s", ErrInUse, path)
	}
	return nil
}

// probe connects to the socket at path: it reports whether a process
// still listens there. A full backlog counts as live.
func probe(path string) (bool, error) {
	c, err := net.DialTimeout("unix", path, probeTimeout)
	switch {
	case err == nil:
		c.Close()
		return true, nil
	case errors.Is(err, unix.ECONNREFUSED), errors.Is(err, unix.ENOENT):
		return false, nil
	case errors.Is(err, unix.EAGAIN):
		return true, nil
	}
	return false, fmt.Errorf("control: cannot tell whether %s is in use: %w", path, err)
}

// bindAt binds a socket under a temporary name in the directory dirFD
// (path's, as lockDir checked it) and renames it to path: the socket
// never appears at path with a wider mode, and a stale one is replaced in
// one step. The mode is set on the socket before bind, which creates the
// file with it (Linux's unix_bind takes the socket inode's mode, less the
// umask): no path is ever chmodded, so a symlink put in the socket's
// place cannot redirect a chmod, and the process-wide umask is left
// alone. The temporary name is random, and bind never follows a symlink:
// it fails on any file already there. Bind and rename go through dirFD
// (bind by /proc/self/fd/N/NAME), never through the directory's path:
// they act on the directory that was checked, and the temporary name's
// length does not depend on how deep it is.
func bindAt(dirFD int, path string) (*net.UnixListener, error) {
	tmp, err := tempName()
	if err != nil {
		return nil, err
	}
	ln, err := listenMode("/proc/self/fd/"+strconv.Itoa(dirFD)+"/"+tmp, 0o600)
	if err != nil {
		return nil, err
	}
	bound := false
	defer func() {
		if !bound {
			ln.Close()
			unix.Unlinkat(dirFD, tmp, 0)
		}
	}()
	if err := unix.Renameat(dirFD, tmp, dirFD, filepath.Base(path)); err != nil {
		return nil, fmt.Errorf("control: %s: %w", path, os.NewSyscallError("renameat", err))
	}
	bound = true
	return ln, nil
}

// tempName is an unpredictable name for a file beside the socket.
func tempName() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("control: %w", err)
	}
	return ".respawn-" + strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(b[:]), nil
}

// listenMode creates a listening unix socket at name whose file has the
// given mode from the moment it exists.
func listenMode(name string, mode uint32) (*net.UnixListener, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("control: %w", os.NewSyscallError("socket", err))
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close() // the listener holds a duplicate
	if err := unix.Fchmod(fd, mode); err != nil {
		return nil, fmt.Errorf("control: %w", os.NewSyscallError("fchmod", err))
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: name}); err != nil {
		return nil, fmt.Errorf("control: bind %s: %w", name, os.NewSyscallError("bind", err))
	}
	if err := unix.Listen(fd, unix.SOMAXCONN); err != nil {
		os.Remove(name)
		return nil, fmt.Errorf("control: %w", os.NewSyscallError("listen", err))
	}
	ln, err := fromFile(f)
	if err != nil {
		os.Remove(name)
	}
	return ln, err
}

func fromFile(f *os.File) (*net.UnixListener, error) {
	fd := int(f.Fd())
	if v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN); err != nil || v != 1 {
		return nil, fmt.Errorf("control: descriptor %d is not a listening socket", fd)
	}
	if v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_DOMAIN); err != nil || v != unix.AF_UNIX {
		return nil, fmt.Errorf("control: descriptor %d is not a unix socket", fd)
	}
	if v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE); err != nil || v != unix.SOCK_STREAM {
		return nil, fmt.Errorf("control: descriptor %d is not a stream socket", fd)
	}
	ln, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("control: %w", err)
	}
	ul, ok := ln.(*net.UnixListener)
	if !ok {
		ln.Close()
		return nil, fmt.Errorf("control: descriptor %d is not a unix listener", fd)
	}
	ul.SetUnlinkOnClose(false)
	return ul, nil
}

func remove(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("control: %w", err)
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("control: %s is not a socket: left alone", path)
	}
	live, err := probe(path)
	if err != nil {
		return err
	}
	if live {
		return fmt.Errorf("%w: %s: left alone", ErrInUse, path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("control: %w", err)
	}
	return nil
}
