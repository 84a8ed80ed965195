//go:build linux

package control

import (
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
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("control: %w", err)
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := checkFree(path); err != nil {
		return nil, err
	}
	return bindAt(path)
}

// lockDir holds an flock on dir until the returned function is called, so
// that two supervisors starting at once do not both take a stale socket
// for theirs.
func lockDir(dir string) (func(), error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("control: %s: %w", dir, os.NewSyscallError("open", err))
	}
	if err := unix.Flock(fd, unix.LOCK_EX); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("control: %s: %w", dir, os.NewSyscallError("flock", err))
	}
	return func() { unix.Close(fd) }, nil
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

// bindAt binds a socket under a temporary name beside path, gives it mode
// 0600, and renames it to path: the socket never appears at path with a
// wider mode, and a stale one is replaced in one step.
func bindAt(path string) (*net.UnixListener, error) {
	tmp := filepath.Join(filepath.Dir(path), ".respawn-"+strconv.Itoa(os.Getpid()))
	_ = os.Remove(tmp)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("control: %w", err)
	}
	ln.SetUnlinkOnClose(false)
	bound := false
	defer func() {
		if !bound {
			ln.Close()
			os.Remove(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o600); err != nil {
		return nil, fmt.Errorf("control: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, fmt.Errorf("control: %w", err)
	}
	bound = true
	return ln, nil
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
