//go:build linux

package capture

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Hub reads the pipes of every captured server on one goroutine. Open,
// Adopt, Pause and Resume may be called from any goroutine (in respawn,
// the event loop); none of them waits for the output.
type Hub struct {
	cfg Config

	once    sync.Once
	initErr error
	epfd    int
	wakefd  int // an eventfd in the epoll set: Pause wakes the reader with it

	mu      sync.Mutex
	streams []*stream // by the index in their epoll data; wake is index -1

	pausing atomic.Bool
	drain   atomic.Bool   // Pause reads what the pipes hold first
	acked   chan struct{} // the reader is paused
	resumed chan struct{}

	buf  []byte // the reader's read buffer
	line []byte // the reader's formatted line
	dirs map[string]int
}

// New returns a Hub that writes lines as cfg says. It opens nothing until
// the first Open or Adopt.
func New(cfg Config) *Hub {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Hub{cfg: cfg, epfd: -1, wakefd: -1, acked: make(chan struct{}, 1), resumed: make(chan struct{}, 1)}
}

// start creates the epoll set and starts the reader, once.
func (h *Hub) start() error {
	h.once.Do(func() {
		epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
		if err != nil {
			h.initErr = fmt.Errorf("capture: %w", os.NewSyscallError("epoll_create1", err))
			return
		}
		wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
		if err == nil {
			ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: -1}
			err = unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wake, &ev)
		}
		if err != nil {
			unix.Close(epfd)
			h.initErr = fmt.Errorf("capture: %w", os.NewSyscallError("eventfd", err))
			return
		}
		h.epfd, h.wakefd = epfd, wake
		go h.run()
	})
	return h.initErr
}

// Open makes the two pipes of server name and starts reading them. It
// fails with ErrNoRoom rather than take descriptors respawn needs for
// anything else. f.Path "" means no log file.
func (h *Hub) Open(name string, f File) (*Pipes, error) {
	if err := h.start(); err != nil {
		return nil, err
	}
	p := &Pipes{name: name}
	var out, errp [2]int
	if err := unix.Pipe2(out[:], unix.O_CLOEXEC); err != nil {
		return nil, pipeError(err)
	}
	if err := unix.Pipe2(errp[:], unix.O_CLOEXEC); err != nil {
		closeAll(out[:])
		return nil, pipeError(err)
	}
	unix.Close(out[1]) // Writers opens them anew for each start
	unix.Close(errp[1])
	p.fds = [FDsPerServer]int{out[0], errp[0]}
	if !roomAbove(max(out[0], errp[0]) + FDsPerServer) { // and the write ends, during a start
		closeAll(p.fds[:])
		return nil, ErrNoRoom
	}
	if err := h.watch(p, f); err != nil {
		closeAll(p.fds[:])
		return nil, err
	}
	return p, nil
}

func pipeError(err error) error {
	if errors.Is(err, unix.EMFILE) || errors.Is(err, unix.ENFILE) {
		return fmt.Errorf("%w: %w", ErrNoRoom, os.NewSyscallError("pipe2", err))
	}
	return fmt.Errorf("capture: %w", os.NewSyscallError("pipe2", err))
}

// roomAbove reports whether descriptor fd leaves Reserve descriptors free
// under the soft RLIMIT_NOFILE: the kernel hands out the lowest free
// number, so fd is about the count of descriptors open.
func roomAbove(fd int) bool {
	var rl unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &rl) != nil || rl.Cur == unix.RLIM_INFINITY {
		return true
	}
	return uint64(fd)+Reserve < rl.Cur
}

func closeAll(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

// Adopt takes back the pipes a live upgrade kept (the descriptors Pipes.FDs
// returned in the old image) and reads on. It sets close-on-exec on them
// again, which the upgrade cleared.
func (h *Hub) Adopt(name string, fds []int, f File) (*Pipes, error) {
	if len(fds) != FDsPerServer {
		return nil, fmt.Errorf("capture: %d descriptors, want %d", len(fds), FDsPerServer)
	}
	if err := h.start(); err != nil {
		return nil, err
	}
	p := &Pipes{name: name}
	copy(p.fds[:], fds)
	for _, fd := range p.fds {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
			return nil, fmt.Errorf("capture: inherited descriptor %d of %s is not a pipe", fd, name)
		}
		unix.CloseOnExec(fd)
	}
	return p, h.watch(p, f)
}

// Writers opens a write end of each of p's pipes, for the server's next
// start: its stdout and stderr. The caller closes both once the server
// has them. A pipe's write end is opened as a FIFO is, through the read
// end's /proc/self/fd link.
func (p *Pipes) Writers() (stdout, stderr int, err error) {
	if stdout, err = writeEnd(p.fds[0]); err != nil {
		return -1, -1, err
	}
	if stderr, err = writeEnd(p.fds[1]); err != nil {
		unix.Close(stdout)
		return -1, -1, err
	}
	return stdout, stderr, nil
}

func writeEnd(fd int) (int, error) {
	w, err := unix.Open("/proc/self/fd/"+strconv.Itoa(fd), unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("capture: %w", os.NewSyscallError("open", err))
	}
	return w, nil
}

// watch sets up p's log file and adds its read ends to the epoll set,
// edge-triggered: a pipe without a writer (between two starts) reports
// its hang-up once, not at every wait.
func (h *Hub) watch(p *Pipes, f File) error {
	if f.Path != "" {
		p.file = newLogFile(h, p.name, f)
	}
	for i, name := range []string{"stdout", "stderr"} {
		fd := p.fds[i]
		if err := unix.SetNonblock(fd, true); err != nil {
			return fmt.Errorf("capture: %w", os.NewSyscallError("fcntl", err))
		}
		h.mu.Lock()
		idx := len(h.streams)
		h.streams = append(h.streams, &stream{p: p, fd: fd, name: name})
		h.mu.Unlock()
		ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLET, Fd: int32(idx)}
		if err := unix.EpollCtl(h.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
			return fmt.Errorf("capture: %w", os.NewSyscallError("epoll_ctl", err))
		}
	}
	return nil
}

// Pause stops the reader for a live upgrade: it finishes the read under
// way, writes each line not yet ended as a partial piece, and reads no
// more; what servers write meanwhile waits in the pipes for the new
// image. Pause waits at most timeout for the reader (a log file on a
// stalled disk can hold it) and reports whether it stopped.
func (h *Hub) Pause(timeout time.Duration) bool {
	h.drain.Store(false)
	return h.pause(timeout)
}

// Drain is Pause for the end of respawn: the reader first reads what the
// pipes hold (up to drainMax per stream), so that the last lines of a
// server that has just ended are written before respawn's last line.
func (h *Hub) Drain(timeout time.Duration) bool {
	h.drain.Store(true)
	return h.pause(timeout)
}

// drainMax bounds what Drain reads from one stream: a server left running
// that writes without pause must not hold respawn's exit.
const drainMax = 1 << 20

func (h *Hub) pause(timeout time.Duration) bool {
	if h.wakefd < 0 {
		return true // nothing captured yet
	}
	select {
	case <-h.acked: // a late answer to an earlier Pause
	default:
	}
	h.pausing.Store(true)
	one := []byte{1, 0, 0, 0, 0, 0, 0, 0}
	_, _ = unix.Write(h.wakefd, one)
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-h.acked:
		return true
	case <-t.C:
		return false
	}
}

// Resume lets the reader go on after Pause (the upgrade did not happen).
func (h *Hub) Resume() {
	if h.wakefd < 0 || !h.pausing.Swap(false) {
		return
	}
	select {
	case h.resumed <- struct{}{}:
	default:
	}
}

// run is the reader: one epoll loop over every pipe, for ever. The pipes
// are edge-triggered, so a stream is read until it is empty; one read per
// stream per turn keeps a chatty server from starving the others, and a
// stream not yet empty waits in more for the next turn, which then does
// not sleep.
func (h *Hub) run() {
	events := make([]unix.EpollEvent, 128)
	h.buf = make([]byte, 64<<10)
	var more, next []*stream
	for {
		timeout := -1
		if len(more) > 0 {
			timeout = 0
		}
		n, err := unix.EpollWait(h.epfd, events, timeout)
		if err != nil {
			n = 0 // EINTR; nothing else can fail on a valid epoll set
		}
		next = next[:0]
		for _, ev := range events[:n] {
			if ev.Fd < 0 {
				h.onWake()
				continue
			}
			h.mu.Lock()
			st := h.streams[ev.Fd]
			h.mu.Unlock()
			if !st.more && h.read(st) {
				st.more = true
				next = append(next, st)
			}
		}
		for _, st := range more {
			if h.read(st) {
				next = append(next, st)
			} else {
				st.more = false
			}
		}
		more, next = next, more
	}
}

// read takes one buffer's worth from st's pipe and reports whether it
// read anything: false once the pipe is empty (EAGAIN) or has no writer
// left (EOF, between two starts).
func (h *Hub) read(st *stream) bool {
	n, err := unix.Read(st.fd, h.buf)
	if n <= 0 || err != nil {
		return false
	}
	st.feed(h.buf[:n], func(line []byte, partial bool) { h.emit(st, line, partial) })
	return true
}

// onWake handles the wake-up of Pause: flush every stream's unfinished
// line, answer, and wait for Resume (an exec ends the wait for good).
func (h *Hub) onWake() {
	var b [8]byte
	_, _ = unix.Read(h.wakefd, b[:])
	if !h.pausing.Load() {
		return
	}
	h.mu.Lock()
	streams := h.streams
	h.mu.Unlock()
	for _, st := range streams {
		for n := 0; h.drain.Load() && n < drainMax; n += len(h.buf) {
			if !h.read(st) {
				break
			}
		}
		st.flush(func(line []byte, partial bool) { h.emit(st, line, partial) })
	}
	h.acked <- struct{}{}
	<-h.resumed
}
