//go:build linux

package heartbeat

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// maxBatch bounds the registration files read in one turn: the rest wait
// for the next scan, so that a flood of files cannot hold beats back.
const maxBatch = 256

// candidate is a registration file read and parsed, on its way to being
// authenticated.
type candidate struct {
	name  string
	pid   int
	reg   Registration
	uid   uint32 // the file's owner
	ctime int64
	fifo  int // the FIFO's read end, or -1
	pidfd int // or -1
	key   fileKey
}

// fileKey is a file by device and inode.
type fileKey struct{ dev, ino uint64 }

func (c *candidate) close() {
	for _, fd := range []int{c.fifo, c.pidfd} {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
	c.fifo, c.pidfd = -1, -1
}

// readInotify drains the inotify queue: the registration files written
// or moved in are returned to be registered, and a registered file
// removed or moved away unregisters its registrant. An overflow (events
// lost) waits for the scan.
func (m *Monitor) readInotify(names []string) []string {
	var buf [8192]byte
	for {
		n, err := unix.Read(m.sys.ino, buf[:])
		if err != nil || n <= 0 {
			return names
		}
		for b := buf[:n]; len(b) >= unix.SizeofInotifyEvent; {
			mask := binary.NativeEndian.Uint32(b[4:8])
			l := int(binary.NativeEndian.Uint32(b[12:16]))
			if unix.SizeofInotifyEvent+l > len(b) {
				break
			}
			name := string(bytes.TrimRight(b[unix.SizeofInotifyEvent:unix.SizeofInotifyEvent+l], "\x00"))
			b = b[unix.SizeofInotifyEvent+l:]
			switch {
			case !IsRegistration(name):
			case mask&(unix.IN_DELETE|unix.IN_MOVED_FROM) != 0:
				if r := m.st.byFile[name]; r != nil {
					m.unregister(r, false, "heartbeat: registration file removed, unregistered")
				}
			default:
				names = append(names, name)
			}
		}
	}
}

// registrar reads, authenticates and registers files until ctx ends:
// those the poller passes on from inotify, and every file of the
// directory each second (AHM's scan, in case inotify lost some). It does
// nothing while the monitor is frozen: a file left then is registered by
// the next image's scan.
func (m *Monitor) registrar(ctx context.Context) {
	tick := time.NewTicker(m.cfg.Scan)
	defer tick.Stop()
	m.scan()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			m.scan()
		case <-m.poke:
			m.mu.Lock()
			names := m.st.pending
			m.st.pending = nil
			m.mu.Unlock()
			m.register(names)
		}
	}
}

// scan reads the whole directory: a file not registered yet is
// registered, a registered file gone unregisters its registrant.
func (m *Monitor) scan() {
	all, err := m.readDir()
	if err != nil {
		m.log.Warn("heartbeat: directory not read", "dir", m.cfg.Dir, "err", err)
		return
	}
	present := make(map[string]bool, len(all))
	for _, n := range all {
		if IsRegistration(n) {
			present[n] = true
		}
	}
	m.mu.Lock()
	if m.frozen {
		m.mu.Unlock()
		return
	}
	for name, r := range m.st.byFile {
		if !present[name] {
			m.unregister(r, false, "heartbeat: registration file removed, unregistered")
		}
	}
	m.mu.Unlock()
	for name := range m.tries {
		if !present[name] {
			delete(m.tries, name)
		}
	}
	m.register(slices.Collect(maps.Keys(present)))
}

func (m *Monitor) readDir() ([]string, error) {
	if _, err := m.sys.dir.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return m.sys.dir.Readdirnames(-1)
}

// register reads, authenticates and registers the files named, at most
// maxBatch of them (the rest are passed to the next turn), with one look
// through /proc for all, made without holding the monitor.
func (m *Monitor) register(names []string) {
	slices.Sort(names)
	names = slices.Compact(names)
	m.mu.Lock()
	frozen := m.frozen
	names = slices.DeleteFunc(names, func(n string) bool { return m.st.byFile[n] != nil })
	if len(names) > maxBatch {
		m.st.pending = append(m.st.pending, names[maxBatch:]...)
		names = names[:maxBatch]
		m.wakeRegistrar()
	}
	m.mu.Unlock()
	if frozen {
		return
	}
	var cs []*candidate
	for _, name := range names {
		if c := m.read(name); c != nil {
			cs = append(cs, c)
		}
	}
	slices.SortStableFunc(cs, func(a, b *candidate) int { return cmp.Compare(a.ctime, b.ctime) })
	cs = m.openAll(m.unique(cs))
	if len(cs) == 0 {
		return
	}
	keys := map[fileKey]bool{}
	for _, c := range cs {
		keys[c.key] = true
	}
	writers := fifoWriters(keys)
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range cs {
		if m.frozen { // left for the next image's scan
			c.close()
			continue
		}
		m.authenticate(c, writers[c.key])
	}
	m.wakePoller() // the deadlines it waits for may have changed
}

// read reads and parses one registration file. A file that does not
// parse is given one more try (it may be half written) on the next event
// or scan, then refused.
func (m *Monitor) read(name string) *candidate {
	pid, ok := ParseFileName(name)
	if !ok {
		m.log.Warn("heartbeat: registration file name invalid", "file", name)
		m.rename(name, 0)
		return nil
	}
	b, st, err := readFile(int(m.sys.dir.Fd()), name)
	if errors.Is(err, unix.ENOENT) {
		delete(m.tries, name)
		return nil
	}
	var reg Registration
	if err == nil {
		reg, err = Parse(b)
		if err != nil && !m.tries[name] {
			m.tries[name] = true
			m.log.Debug("heartbeat: registration file unreadable, tried again once", "pid", pid, "file", name, "err", err)
			return nil
		}
	}
	delete(m.tries, name)
	if err != nil {
		m.log.Warn(fmt.Sprintf("heartbeat: registration file invalid for PID %d", pid), "pid", pid, "file", name, "err", err)
		m.rename(name, pid)
		return nil
	}
	return &candidate{name: name, pid: pid, reg: reg, uid: st.Uid, ctime: st.Ctim.Nano(), fifo: -1, pidfd: -1}
}

// readFile reads a regular file in dir, at most MaxFile+1 bytes, never
// through a symbolic link.
func readFile(dir int, name string) ([]byte, *unix.Stat_t, error) {
	fd, err := unix.Openat(dir, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, os.NewSyscallError("open", err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, nil, os.NewSyscallError("fstat", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, nil, fmt.Errorf("heartbeat: %s is not a regular file (mode %#o)", name, st.Mode)
	}
	b := make([]byte, 0, 512)
	for len(b) <= MaxFile {
		buf := make([]byte, MaxFile+1-len(b))
		n, err := unix.Read(fd, buf)
		if err != nil {
			return nil, nil, os.NewSyscallError("read", err)
		}
		if n == 0 {
			break
		}
		b = append(b, buf[:n]...)
	}
	return b, &st, nil
}

// unique refuses a second registration for a PID: the older stands (the
// one registered, or the first of the batch by change time), the newer
// is renamed. It refuses what the limit of registrants leaves no room for.
// (Only the registrar registers: what it sees stays true until it does.)
func (m *Monitor) unique(cs []*candidate) []*candidate {
	m.mu.Lock()
	defer m.mu.Unlock()
	seen := map[int]bool{}
	out := cs[:0]
	for _, c := range cs {
		switch {
		case m.st.byPid[c.pid] != nil || seen[c.pid]:
			m.log.Warn(fmt.Sprintf("heartbeat: duplicate registration for PID %d, the older stands", c.pid), "pid", c.pid, "file", c.name)
			m.rename(c.name, c.pid)
		case len(m.st.byPid)+len(out) >= m.cfg.Max:
			m.log.Warn("heartbeat: too many registrants", "pid", c.pid, "file", c.name, "max", m.cfg.Max)
			m.rename(c.name, c.pid)
		default:
			seen[c.pid] = true
			out = append(out, c)
		}
	}
	return out
}

// openAll opens each candidate's pidfd and FIFO, refusing those that
// fail.
func (m *Monitor) openAll(cs []*candidate) []*candidate {
	out := cs[:0]
	for _, c := range cs {
		if m.open1(c) {
			out = append(out, c)
		}
	}
	return out
}

// open1 opens c's pidfd (the PID exists) and its FIFO (a FIFO, owned by
// the process's uid as the file is, not opened through a symlink).
func (m *Monitor) open1(c *candidate) bool {
	var err error
	if c.pidfd, err = unix.PidfdOpen(c.pid, 0); err != nil {
		c.pidfd = -1
		m.notAuthenticated(c, os.NewSyscallError("pidfd_open", err))
		return false
	}
	uid, err := procUID(c.pid)
	if err == nil && uid != c.uid {
		err = fmt.Errorf("heartbeat: the file is owned by uid %d, the process runs as uid %d", c.uid, uid)
	}
	path := -1
	if err == nil {
		path, err = checkFIFO(c.reg.FIFO, uid, &c.key)
	}
	if err != nil {
		m.notAuthenticated(c, err)
		return false
	}
	defer unix.Close(path)
	if c.fifo, err = reopen(path); err != nil {
		m.log.Warn(fmt.Sprintf("heartbeat: unable to open client fifo for PID %d", c.pid), "pid", c.pid, "fifo", c.reg.FIFO, "err", err)
		c.close()
		m.rename(c.name, c.pid)
		return false
	}
	return true
}

// checkFIFO finds the path (O_PATH: nothing is opened, whatever it is)
// and checks what it found: a FIFO (not a symlink, not a device whose
// open may do something) owned by uid. It returns that descriptor, the
// only way to the file from then on: the path itself may lead elsewhere
// by the time it is opened (a directory on it swapped for a symlink).
func checkFIFO(path string, uid uint32, key *fileKey) (int, error) {
	fd, err := unix.Open(path, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, os.NewSyscallError("open", err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, os.NewSyscallError("fstat", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFIFO || st.Uid != uid {
		unix.Close(fd)
		return -1, fmt.Errorf("heartbeat: %s is not a FIFO owned by uid %d (mode %#o, uid %d)", path, uid, st.Mode, st.Uid)
	}
	*key = fileKey{dev: st.Dev, ino: st.Ino}
	return fd, nil
}

// reopen opens the read end of the FIFO that the O_PATH descriptor
// found, through /proc/self/fd: the same inode, no path walked again.
func reopen(path int) (int, error) {
	fd, err := unix.Open("/proc/self/fd/"+strconv.Itoa(path), unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, os.NewSyscallError("open", err)
	}
	return fd, nil
}

// authenticate registers c if its process, and no other, holds its FIFO
// open for writing, and is still the process the pidfd names.
func (m *Monitor) authenticate(c *candidate, writers []int) {
	var err error
	switch {
	case len(writers) == 0:
		err = errors.New("heartbeat: no process holds the fifo open for writing")
	case len(writers) > 1 || writers[0] != c.pid:
		err = fmt.Errorf("heartbeat: the fifo is open for writing by %v", writers)
	default:
		err = unix.PidfdSendSignal(c.pidfd, 0, nil, 0)
	}
	if err != nil {
		m.notAuthenticated(c, err)
		return
	}
	m.add(c)
}

func (m *Monitor) notAuthenticated(c *candidate, err error) {
	m.log.Warn(fmt.Sprintf("heartbeat: process %d not authenticated or does not exist", c.pid), "pid", c.pid, "file", c.name, "err", err)
	c.close()
	m.rename(c.name, c.pid)
}

// add registers c: its FIFO and pidfd join the poll set, its deadline is
// armed from now.
func (m *Monitor) add(c *candidate) {
	r := &registrant{Kept: Kept{Pid: c.pid, File: c.name, Reg: c.reg, LastNs: monotonicNs(), FIFO: c.fifo, PidFD: c.pidfd}, at: -1}
	if err := m.watch(r); err != nil {
		m.log.Warn("heartbeat: registrant not polled", r.logAttrs("err", err)...)
		c.close()
		return
	}
	m.st.totals.Registered++
	m.log.Info(fmt.Sprintf("heartbeat: registration completed for PID %d", c.pid), r.logAttrs("fifo", c.reg.FIFO,
		"period", c.reg.Period.String(), "misses", c.reg.Misses, "action", c.reg.Action.String())...)
}

// watch puts r in the poll set and the tables, and arms its deadline
// unless its action was taken already.
func (m *Monitor) watch(r *registrant) error {
	if err := m.poll(r.FIFO); err != nil {
		return err
	}
	if err := m.poll(r.PidFD); err != nil {
		m.unpoll(r.FIFO)
		return err
	}
	m.st.byPid[r.Pid], m.st.byFile[r.File] = r, r
	m.st.byFD[r.FIFO], m.st.byFD[r.PidFD] = r, r
	if !r.Fired {
		m.st.due.arm(r)
	}
	return nil
}

// rename puts InvalidPrefix in front of a refused file's name: it is
// kept for the operator, never deleted.
func (m *Monitor) rename(name string, pid int) {
	m.refused.Add(1)
	dir := int(m.sys.dir.Fd())
	to := InvalidPrefix + name
	err := unix.Renameat2(dir, name, dir, to, unix.RENAME_NOREPLACE)
	if errors.Is(err, unix.EEXIST) {
		to += "." + strconv.FormatInt(monotonicNs(), 10)
		err = unix.Renameat2(dir, name, dir, to, unix.RENAME_NOREPLACE)
	}
	if err != nil && !errors.Is(err, unix.ENOENT) {
		m.log.Warn("heartbeat: registration file not renamed", "file", name, "err", os.NewSyscallError("renameat2", err))
		return
	}
	m.log.Warn(fmt.Sprintf("heartbeat: renaming invalid registration file for PID %d", pid), "pid", pid, "file", name, "to", to)
}
