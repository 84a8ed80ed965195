//go:build linux

package test

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

func init() { moreHelpers["systemdenv"] = systemdEnvHelper }

// systemdEnvVars are the variables systemd gives a Type=notify service.
var systemdEnvVars = []string{"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"}

// systemdEnvHelper is a server that appends to FILE the notification variables
// it was started with ("none" if none), then sleeps.
func systemdEnvHelper(args []string) int {
	var got []string
	for _, k := range systemdEnvVars {
		if v, ok := os.LookupEnv(k); ok {
			got = append(got, k+"="+v)
		}
	}
	if len(got) == 0 {
		got = []string{"none"}
	}
	appendLine(args[0], strings.Join(got, " "))
	return pause()
}

// systemdMsg is one datagram received on the test's notification socket:
// its text, when it came (CLOCK_MONOTONIC), and, for a READY=1, how many
// children respawn had then.
type systemdMsg struct {
	text string
	mono int64 // CLOCK_MONOTONIC when the test read it
	sent int64 // CLOCK_REALTIME when it was queued (SO_TIMESTAMPNS): a slow reader does not move it
	kids int
}

// systemdSock is a notification socket the test owns, as systemd's is:
// a datagram socket bound at addr (a path, or @ and an abstract name),
// read by a goroutine of the test until the test ends.
type systemdSock struct {
	t    *testing.T
	addr string
	fd   int
	pid  atomic.Int64 // respawn's pid, for the children count at READY=1
	mu   sync.Mutex
	msgs []systemdMsg
	read bool // the reader runs
}

// listenSystemd binds addr; with read, a goroutine receives what comes.
func listenSystemd(t *testing.T, addr string, read bool) *systemdSock {
	t.Helper()
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: addr}); err != nil {
		unix.Close(fd)
		t.Fatal(err)
	}
	tv := unix.Timeval{Usec: 50000}
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		t.Fatal(err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
		t.Fatal(err)
	}
	n := &systemdSock{t: t, addr: addr, fd: fd, read: read}
	done, stop := make(chan struct{}), make(chan struct{})
	t.Cleanup(func() {
		close(stop)
		if read {
			<-done
		}
		unix.Close(fd)
	})
	if read {
		go n.receive(stop, done)
	}
	return n
}

func (n *systemdSock) receive(stop, done chan struct{}) {
	defer close(done)
	buf, oob := make([]byte, 8192), make([]byte, 256)
	for {
		select {
		case <-stop:
			return
		default:
		}
		k, oobn, _, _, err := unix.Recvmsg(n.fd, buf, oob, 0)
		if err != nil {
			continue // the receive timeout: look at stop again
		}
		m := systemdMsg{text: string(buf[:k]), mono: systemdMono(), sent: queuedAt(oob[:oobn]), kids: -1}
		if strings.Contains(m.text, "READY=1") {
			m.kids = len(children(int(n.pid.Load())))
		}
		n.mu.Lock()
		n.msgs = append(n.msgs, m)
		n.mu.Unlock()
	}
}

// queuedAt is the SO_TIMESTAMPNS time in a datagram's control data, or 0.
func queuedAt(oob []byte) int64 {
	cms, _ := unix.ParseSocketControlMessage(oob)
	for _, cm := range cms {
		if cm.Header.Level == unix.SOL_SOCKET && cm.Header.Type == unix.SO_TIMESTAMPNS && len(cm.Data) >= 16 {
			ts := (*unix.Timespec)(unsafe.Pointer(&cm.Data[0]))
			return ts.Nano()
		}
	}
	return 0
}

// drain reads what waits in a socket read by nobody, and returns how many.
func (n *systemdSock) drain() int {
	buf := make([]byte, 8192)
	k := 0
	for {
		if _, _, err := unix.Recvfrom(n.fd, buf, unix.MSG_DONTWAIT); err != nil {
			return k
		}
		k++
	}
}

// fill sends to the socket until its queue is full, as a receiver that
// stopped reading leaves it: from one client until that client's own
// send buffer is full, then from another, until a fresh client cannot
// send at all.
func (n *systemdSock) fill() {
	n.t.Helper()
	for c := 0; c < 64; c++ {
		if n.fillFrom() == 0 {
			return
		}
	}
	n.t.Fatal("the notification socket never filled up")
}

// fillFrom sends from a new client until it cannot, and says how many
// messages it sent.
func (n *systemdSock) fillFrom() int {
	n.t.Helper()
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		n.t.Fatal(err)
	}
	defer unix.Close(fd)
	for k := 0; k < 100000; k++ {
		err := unix.Sendto(fd, []byte("STATUS=filler"), unix.MSG_DONTWAIT, &unix.SockaddrUnix{Name: n.addr})
		if errors.Is(err, unix.EAGAIN) {
			return k
		}
		if err != nil {
			n.t.Fatal(err)
		}
	}
	return -1
}

// all returns the messages received so far.
func (n *systemdSock) all() []systemdMsg {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]systemdMsg(nil), n.msgs...)
}

// wait waits until a message after the first from (an index into all)
// has a line equal to line, or starting with it if it ends with "=",
// and returns its index. It gives up after 30 s: a start-up of many
// servers on a loaded machine may take more than eventually's 10 s.
func (n *systemdSock) wait(from int, line string) int {
	n.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if i := n.find(from, line); i >= 0 {
			return i
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("no notification with %s in 30 s; got %+v", line, n.all())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// find is the index of the first message after from with line, or -1.
func (n *systemdSock) find(from int, line string) int {
	msgs := n.all()
	for i := from; i < len(msgs); i++ {
		if systemdHasLine(msgs[i].text, line) {
			return i
		}
	}
	return -1
}

// count is how many messages after from have line.
func (n *systemdSock) count(from int, line string) int {
	k := 0
	for _, m := range n.all()[from:] {
		if systemdHasLine(m.text, line) {
			k++
		}
	}
	return k
}

// systemdHasLine reports whether text has line (VAR=VALUE) as one of its lines,
// or a line starting with it if it ends with "=".
func systemdHasLine(text, line string) bool {
	for _, l := range strings.Split(text, "\n") {
		if l == line || strings.HasSuffix(line, "=") && strings.HasPrefix(l, line) {
			return true
		}
	}
	return false
}

// value is the value of VAR in message text, or "".
func systemdValue(text, name string) string {
	for _, l := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(l, name+"="); ok {
			return v
		}
	}
	return ""
}

func systemdMono() int64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}

// beginUnderSystemd starts respawn (JSON logs, no control socket) with env
// added to the test's environment, whose own notification variables are
// left out; via sh, when pidVar is set, so that WATCHDOG_PID is
// respawn's own pid (the shell's, which execs respawn).
func beginUnderSystemd(t *testing.T, n *systemdSock, env []string, pidVar bool, args ...string) *Sup {
	t.Helper()
	return beginBinUnderSystemd(t, respawnBin, n, env, pidVar, args...)
}

// beginBinUnderSystemd is beginUnderSystemd with the respawn binary at bin.
func beginBinUnderSystemd(t *testing.T, bin string, n *systemdSock, env []string, pidVar bool, args ...string) *Sup {
	t.Helper()
	argv := append([]string{bin, "--log-format=json", "--control=none"}, args...)
	if pidVar {
		argv = append([]string{"/bin/sh", "-c", `export WATCHDOG_PID=$$; exec "$@"`, "sh"}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k != "NOTIFY_SOCKET" && k != "WATCHDOG_USEC" && k != "WATCHDOG_PID" {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	s := launch(t, cmd)
	if n != nil {
		n.pid.Store(int64(s.Pid))
	}
	t.Cleanup(s.cleanup)
	guard(s)
	return s
}

// petGaps checks that the WATCHDOG=1 messages from index from on were
// sent (by their kernel time stamps, which a slow reader does not move) at
// most period apart, or systemd's watchdog would have fired, and no more
// often than a quarter of it (they are due every half), and returns how
// many there were.
func (n *systemdSock) petGaps(from int, period time.Duration) int {
	n.t.Helper()
	var last int64
	k := 0
	for _, m := range n.all()[from:] {
		if !systemdHasLine(m.text, "WATCHDOG=1") {
			continue
		}
		if m.sent == 0 {
			n.t.Fatalf("no time stamp on %q", m.text)
		}
		if gap := time.Duration(m.sent - last); last != 0 && (gap > period || gap < period/4) {
			n.t.Errorf("WATCHDOG=1 %v after the previous one; the period is %v", gap, period)
		}
		last = m.sent
		k++
	}
	return k
}
