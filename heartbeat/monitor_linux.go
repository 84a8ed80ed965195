//go:build linux

package heartbeat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// sys are the monitor's own descriptors.
type sys struct {
	dir  *os.File // the directory, opened without following a symlink
	ep   int      // the epoll set
	ino  int      // inotify on the directory
	wake int      // an eventfd that ends a wait (the context ended)
}

// New checks the directory, and opens the descriptors Run polls. A
// directory that is not owned by root, or that others may write to
// without the sticky bit, is refused.
func New(cfg Config) (*Monitor, error) {
	if cfg.Scan <= 0 {
		cfg.Scan = ScanEvery
	}
	if cfg.Max <= 0 || cfg.Max > MaxRegistrants {
		cfg.Max = MaxRegistrants
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	m := &Monitor{cfg: cfg, log: cfg.Log, st: state{
		byPid: map[int]*registrant{}, byFile: map[string]*registrant{}, byFD: map[int]*registrant{},
	}, poke: make(chan struct{}, 1), tries: map[string]bool{}}
	if err := m.open(); err != nil {
		m.closeSys()
		return nil, err
	}
	return m, nil
}

func (m *Monitor) open() error {
	m.sys = sys{ep: -1, ino: -1, wake: -1}
	dir, err := OpenDir(m.cfg.Dir)
	if err != nil {
		return err
	}
	m.sys.dir = dir
	if m.sys.ep, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		return os.NewSyscallError("epoll_create1", err)
	}
	if m.sys.ino, err = unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC); err != nil {
		return os.NewSyscallError("inotify_init1", err)
	}
	// Through /proc/self/fd: the directory checked, not what the path names now.
	at := "/proc/self/fd/" + strconv.Itoa(int(dir.Fd()))
	mask := uint32(unix.IN_CLOSE_WRITE | unix.IN_MOVED_TO | unix.IN_DELETE | unix.IN_MOVED_FROM | unix.IN_ONLYDIR)
	if _, err := unix.InotifyAddWatch(m.sys.ino, at, mask); err != nil {
		return os.NewSyscallError("inotify_add_watch", err)
	}
	if m.sys.wake, err = unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC); err != nil {
		return os.NewSyscallError("eventfd", err)
	}
	for _, fd := range []int{m.sys.ino, m.sys.wake} {
		if err := m.poll(fd); err != nil {
			return err
		}
	}
	return nil
}

// OpenDir opens a registration directory and checks what it opened: a
// directory (never through a symbolic link), owned by root, not writable
// by others unless sticky.
func OpenDir(path string) (*os.File, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("heartbeat: directory %s: %w", path, os.NewSyscallError("open", err))
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("fstat", err)
	}
	switch {
	case st.Uid != 0:
		err = fmt.Errorf("heartbeat: directory %s is owned by uid %d, not root", path, st.Uid)
	case st.Mode&unix.S_IWOTH != 0 && st.Mode&unix.S_ISVTX == 0:
		err = fmt.Errorf("heartbeat: directory %s is writable by others and not sticky (mode %#o)", path, st.Mode&0o7777)
	}
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), path), nil
}

func (m *Monitor) poll(fd int) error {
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}
	return os.NewSyscallError("epoll_ctl", unix.EpollCtl(m.sys.ep, unix.EPOLL_CTL_ADD, fd, &ev))
}

func (m *Monitor) unpoll(fd int) {
	_ = unix.EpollCtl(m.sys.ep, unix.EPOLL_CTL_DEL, fd, nil)
}

func (m *Monitor) closeSys() {
	if m.sys.dir != nil {
		m.sys.dir.Close()
	}
	for _, fd := range []int{m.sys.ep, m.sys.ino, m.sys.wake} {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
}

// Run polls until ctx ends, then closes every descriptor, the
// registrants' too; their files stay (the next start reads them again).
// It is the monitor's only reader of beats; its registrar runs beside it
// until then.
func (m *Monitor) Run(ctx context.Context) error {
	defer m.shut()
	var registrar sync.WaitGroup
	registrar.Add(1)
	go func() {
		defer registrar.Done()
		m.registrar(ctx)
	}()
	defer registrar.Wait()
	stop := context.AfterFunc(ctx, m.wakePoller)
	defer stop()
	events := make([]unix.EpollEvent, 2*m.cfg.Max+2) // every descriptor at once
	for ctx.Err() == nil {
		n, err := unix.EpollWait(m.sys.ep, events, m.timeout())
		if err != nil && !errors.Is(err, unix.EINTR) {
			return os.NewSyscallError("epoll_wait", err)
		}
		n = max(n, 0)
		if thaw := m.turn(events[:n], n < len(events)); thaw != nil {
			select {
			case <-thaw:
			case <-ctx.Done():
			}
			continue
		}
		if n > 0 {
			m.settle()
		}
	}
	return nil
}

// batchWindow is how long the poller lets beats gather after a turn, so
// that many registrants cost one wake-up per window, not one per beat. It
// never sleeps past a deadline, so no action is late for it; a beat is
// read up to this much after it was written, which only moves its
// registrant's deadline later.
const batchWindow = 10 * time.Millisecond

func (m *Monitor) settle() {
	d := batchWindow
	m.mu.Lock()
	if len(m.st.due) > 0 {
		d = min(d, time.Duration(m.st.due[0].dueNs-monotonicNs()))
	}
	m.mu.Unlock()
	if d > 0 {
		time.Sleep(d)
	}
}

// timeout is epoll_wait's, in ms: until the next deadline, or none.
func (m *Monitor) timeout() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.st.due) == 0 {
		return -1
	}
	d := m.st.due[0].dueNs - monotonicNs()
	if d <= 0 {
		return 0
	}
	return int((d + int64(time.Millisecond) - 1) / int64(time.Millisecond))
}

// turn handles what epoll reported, then, if that was all that was ready
// (whole), the deadlines passed by the time it returned: a beat waiting
// in a FIFO is always read before its registrant's deadline is looked at.
// The names inotify reported go to the registrar. While frozen it does
// nothing and returns the channel to wait on.
func (m *Monitor) turn(evs []unix.EpollEvent, whole bool) <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.frozen {
		return m.thaw
	}
	now := monotonicNs()
	for _, ev := range evs {
		switch fd := int(ev.Fd); fd {
		case m.sys.wake:
			var b [8]byte
			_, _ = unix.Read(fd, b[:])
		case m.sys.ino:
			m.st.pending = m.readInotify(m.st.pending)
		default:
			m.ready(fd, now)
		}
	}
	if len(m.st.pending) > 0 {
		m.wakeRegistrar()
	}
	if whole {
		m.fire(now)
	}
	return nil
}

// wakePoller ends the poller's wait: the context ended, or a registrant
// with a deadline sooner than the one it waits for was added.
func (m *Monitor) wakePoller() {
	_, _ = unix.Write(m.sys.wake, []byte{1, 0, 0, 0, 0, 0, 0, 0})
}

func (m *Monitor) wakeRegistrar() {
	select {
	case m.poke <- struct{}{}:
	default:
	}
}

// ready handles a registrant's descriptor that epoll reported. The
// report may be stale (the registrar closed that descriptor meanwhile and
// a new registrant got its number), so a pidfd is asked again.
func (m *Monitor) ready(fd int, now int64) {
	switch r := m.st.byFD[fd]; {
	case r == nil:
	case fd == r.FIFO:
		m.beat(r, now)
	case exited(r.PidFD):
		m.unregister(r, true, "heartbeat: registrant exited, unregistered")
	}
}

// beat reads what the FIFO holds: any byte is a beat. A FIFO that no one
// holds open for writing any longer is taken out of the poll set, which
// would report it without end; the registrant's deadline then passes.
func (m *Monitor) beat(r *registrant, now int64) {
	var buf [512]byte
	got, eof := false, false
	for {
		n, err := unix.Read(r.FIFO, buf[:])
		got = got || n > 0
		eof = n == 0 && err == nil
		if n < len(buf) { // a FIFO's read returns all it holds, up to len(buf)
			break
		}
	}
	if got {
		r.LastNs = now
		r.Beats++
		m.st.totals.Beats++
		if r.Fired {
			r.Fired = false
			m.log.Info("heartbeat: beating again", r.logAttrs()...)
		}
		m.st.due.arm(r)
	}
	if eof && exited(r.PidFD) {
		m.unregister(r, true, "heartbeat: registrant exited, unregistered")
		return
	}
	if eof && !r.hup {
		r.hup = true
		m.unpoll(r.FIFO)
		m.log.Warn("heartbeat: no writer left on the fifo", r.logAttrs("fifo", r.Reg.FIFO)...)
	}
}

// fire takes the action of every registrant whose deadline has passed,
// once: a beat arms it again.
func (m *Monitor) fire(now int64) {
	for len(m.st.due) > 0 && m.st.due[0].dueNs <= now {
		r := m.st.due[0]
		m.st.due.disarm(r)
		r.Fired = true
		r.Missed++
		m.st.totals.Missed++
		late := time.Duration(now - r.LastNs).Round(time.Microsecond)
		m.log.Warn("heartbeat: deadline missed", r.logAttrs("action", r.Reg.Action.String(), "late", late.String(),
			"period", r.Reg.Period.String(), "misses", r.Reg.Misses)...)
		if r.Reg.Action != ActionKill {
			continue
		}
		if err := unix.PidfdSendSignal(r.PidFD, unix.SIGKILL, nil, 0); err != nil {
			m.log.Warn("heartbeat: kill", r.logAttrs("err", os.NewSyscallError("pidfd_send_signal", err))...)
		}
	}
}

// unregister forgets r and closes its descriptors; remove removes its
// file too (the registrant exited).
func (m *Monitor) unregister(r *registrant, remove bool, msg string) {
	m.st.due.disarm(r)
	delete(m.st.byPid, r.Pid)
	delete(m.st.byFile, r.File)
	delete(m.st.byFD, r.FIFO)
	delete(m.st.byFD, r.PidFD)
	if !r.hup {
		m.unpoll(r.FIFO)
	}
	m.unpoll(r.PidFD)
	unix.Close(r.FIFO)
	unix.Close(r.PidFD)
	if remove {
		if err := unix.Unlinkat(int(m.sys.dir.Fd()), r.File, 0); err != nil && !errors.Is(err, unix.ENOENT) {
			m.log.Warn("heartbeat: registration file not removed", r.logAttrs("file", r.File, "err", err)...)
		}
	}
	m.log.Info(msg, r.logAttrs()...)
}

// shut closes everything as Run ends.
func (m *Monitor) shut() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range m.st.byPid {
		unix.Close(r.FIFO)
		unix.Close(r.PidFD)
	}
	m.st.byPid, m.st.byFile, m.st.byFD, m.st.due = map[int]*registrant{}, map[string]*registrant{}, map[int]*registrant{}, nil
	m.closeSys()
}

// exited reports whether the process of a pidfd has exited: its pidfd
// polls readable.
func exited(pidfd int) bool {
	fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
	n, err := unix.Poll(fds, 0)
	return err == nil && n == 1
}

func monotonicNs() int64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}
