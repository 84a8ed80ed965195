//go:build linux

package capture

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// logFile is a server's log file, written and rotated by the reader
// goroutine only. It is opened on the first line, relative to a held
// descriptor of its directory, so that nothing swapped into the path
// later (a symlink for a parent directory) moves where it writes.
type logFile struct {
	hub    *Hub
	server string
	f      File
	dir    string
	base   string
	fd     int   // -1 until opened, or after a failure
	size   int64 // bytes in the file
	mid    bool  // the file ends inside a line: its next piece goes there too
	retry  time.Time
	failed bool // the failure is logged; not again until it works
}

func newLogFile(h *Hub, server string, f File) *logFile {
	if f.Max <= 0 {
		f.Max = DefaultMax
	}
	if f.Keep <= 0 {
		f.Keep = DefaultKeep
	}
	return &logFile{hub: h, server: server, f: f, dir: filepath.Dir(f.Path), base: filepath.Base(f.Path), fd: -1}
}

// write appends line (and a newline unless it is a partial piece),
// rotating first if the file would pass its size. Inside a line (whose
// pieces of MaxLine bytes come one by one) it rotates only when the file
// would pass twice its size: a long line stays whole in one file, and a
// server that never writes a newline still cannot grow a file without
// bound. A line that cannot be written is lost to the file (not to the
// sink); the trouble is logged once, and the file opened again a second
// later.
func (l *logFile) write(line []byte, partial bool) {
	if l.fd < 0 && !l.open() {
		return
	}
	n := int64(len(line))
	if !partial {
		n++
	}
	if over := l.size + n - l.f.Max; l.size > 0 && over > 0 && (!l.mid || over > l.f.Max) {
		l.rotate()
		if l.fd < 0 && !l.open() {
			return
		}
	}
	b := line
	if !partial {
		b = append(l.hub.line[:0], line...) // the sink's buffer, formatted after this
		b = append(b, '\n')
		l.hub.line = b
	}
	if _, err := writeAll(l.fd, b); err != nil {
		l.fail(err)
		return
	}
	l.size += int64(len(b))
	l.mid = partial
}

func writeAll(fd int, b []byte) (int, error) {
	done := 0
	for done < len(b) {
		n, err := unix.Write(fd, b[done:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return done, os.NewSyscallError("write", err)
		}
		done += n
	}
	return done, nil
}

// open opens the file, at most once a second after a failure.
func (l *logFile) open() bool {
	if time.Now().Before(l.retry) {
		return false
	}
	fd, size, err := l.hub.openLog(l.dir, l.base)
	if err != nil {
		l.fail(err)
		return false
	}
	l.fd, l.size = fd, size
	if l.failed {
		l.failed = false
		l.hub.logWarn("respawn: log file usable again", l.server, l.f.Path, nil)
	}
	return true
}

func (l *logFile) fail(err error) {
	if l.fd >= 0 {
		unix.Close(l.fd)
		l.fd = -1
	}
	l.retry = time.Now().Add(time.Second)
	if !l.failed {
		l.failed = true
		l.hub.logWarn("respawn: log file not written", l.server, l.f.Path, err)
	}
}

// rotate renames PATH.N-1 to PATH.N ... PATH to PATH.1, so that PATH.N,
// the oldest, is replaced, and closes PATH: the next write creates it.
func (l *logFile) rotate() {
	unix.Close(l.fd)
	l.fd = -1
	dfd, err := l.hub.dirFD(l.dir)
	if err != nil {
		l.fail(err)
		return
	}
	for i := l.f.Keep - 1; i >= 0; i-- {
		from := l.base
		if i > 0 {
			from += "." + strconv.Itoa(i)
		}
		err := unix.Renameat(dfd, from, dfd, l.base+"."+strconv.Itoa(i+1))
		if err != nil && !errors.Is(err, unix.ENOENT) {
			l.fail(os.NewSyscallError("renameat", err))
			return
		}
	}
}

// openLog opens base in dir for appending, creating it with mode 0640,
// and returns its descriptor and size. It refuses a directory someone
// else may write to, and anything but a regular file of ours with one
// link: a symlink or hard link planted there cannot make respawn write
// elsewhere. It opens with O_NONBLOCK, so that a FIFO planted there fails
// (ENXIO) or is refused rather than hold the reader until someone reads
// it; regular files are written blocking.
func (h *Hub) openLog(dir, base string) (int, int64, error) {
	dfd, err := h.dirFD(dir)
	if err != nil {
		return -1, 0, err
	}
	const flags = unix.O_WRONLY | unix.O_CREAT | unix.O_APPEND | unix.O_NOFOLLOW | unix.O_CLOEXEC | unix.O_NONBLOCK
	fd, err := unix.Openat(dfd, base, flags, 0o640)
	if err != nil {
		return -1, 0, os.NewSyscallError("open", err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, 0, os.NewSyscallError("fstat", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Nlink != 1 || st.Uid != uint32(os.Geteuid()) {
		unix.Close(fd)
		return -1, 0, errors.New("capture: not a regular file of respawn's user with one link")
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return -1, 0, os.NewSyscallError("fcntl", err)
	}
	return fd, st.Size, nil
}

// dirFD returns the held descriptor of dir, opening and checking it the
// first time, and again once the directory held has been removed (it can
// hold no file again; a directory made anew at its path is used, but not
// a symlink put there): it must be owned by root or respawn's user, and
// writable by no one else unless sticky (as /tmp is).
func (h *Hub) dirFD(dir string) (int, error) {
	flags := unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC
	held, ok := h.dirs[dir]
	if ok {
		var st unix.Stat_t
		if unix.Fstat(held, &st) != nil || st.Nlink > 0 {
			return held, nil
		}
		flags |= unix.O_NOFOLLOW // the removed one stays held until then
	}
	fd, err := unix.Open(dir, flags, 0)
	if err != nil {
		return -1, os.NewSyscallError("open", err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, os.NewSyscallError("fstat", err)
	}
	if err := checkDir(dir, &st); err != nil {
		unix.Close(fd)
		return -1, err
	}
	if h.dirs == nil {
		h.dirs = map[string]int{}
	}
	if ok {
		unix.Close(held)
	}
	h.dirs[dir] = fd
	return fd, nil
}

func checkDir(dir string, st *unix.Stat_t) error {
	if st.Uid != 0 && st.Uid != uint32(os.Geteuid()) {
		return fmt.Errorf("capture: directory %s belongs to uid %d, not to respawn's user or root", dir, st.Uid)
	}
	if st.Mode&0o022 != 0 && st.Mode&unix.S_ISVTX == 0 {
		return fmt.Errorf("capture: directory %s is writable by others", dir)
	}
	return nil
}

func (h *Hub) logWarn(msg, server, path string, err error) {
	if h.cfg.Log == nil {
		return
	}
	if err != nil {
		h.cfg.Log.Warn(msg, "name", server, "path", path, "err", err)
		return
	}
	h.cfg.Log.Warn(msg, "name", server, "path", path)
}
