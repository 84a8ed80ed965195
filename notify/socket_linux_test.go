//go:build linux

package notify

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// send writes msg to the socket at addr the way python's sdnotify does:
// a datagram socket, sendto, no descriptors; rights, if not nil, are
// passed with it.
func send(t *testing.T, addr, msg string, rights []int) {
	t.Helper()
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	var oob []byte
	if rights != nil {
		oob = unix.UnixRights(rights...)
	}
	if err := unix.Sendmsg(fd, []byte(msg), oob, &unix.SockaddrUnix{Name: addr}, 0); err != nil {
		t.Fatal(err)
	}
}

func listen(t *testing.T) *Conn {
	t.Helper()
	c, err := Listen()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func receive(t *testing.T, c *Conn) Datagram {
	t.Helper()
	if err := c.Wait(); err != nil {
		t.Fatal(err)
	}
	d, ok, err := c.Receive()
	if err != nil || !ok {
		t.Fatalf("Receive: %v, %t", err, ok)
	}
	return d
}

// TestIntegrationReceive checks the address, the credentials and the
// pidfd of a datagram sent by this process.
func TestIntegrationReceive(t *testing.T) {
	c := listen(t)
	if !strings.HasPrefix(c.Addr(), "@respawn/notify/") {
		t.Fatalf("address %q", c.Addr())
	}
	send(t, c.Addr(), "READY=1\nSTATUS=up", nil)
	d := receive(t, c)
	defer d.Close()
	if string(d.Data) != "READY=1\nSTATUS=up" || d.Pid != os.Getpid() || d.UID != uint32(os.Getuid()) || d.Truncated {
		t.Errorf("received %q from pid %d uid %d truncated %t", d.Data, d.Pid, d.UID, d.Truncated)
	}
	if !d.SamePid() {
		t.Error("SamePid false for a live sender")
	}
	if _, ok, err := c.Receive(); ok || err != nil {
		t.Errorf("a second Receive: %t, %v; want nothing", ok, err)
	}
}

// TestIntegrationRightsClosed checks that a descriptor passed with a
// message is closed by Receive: the write end of a pipe sent is closed,
// so that the reader sees the end of file, as sd_notify_barrier waits
// for.
func TestIntegrationRightsClosed(t *testing.T) {
	c := listen(t)
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[0])
	send(t, c.Addr(), "BARRIER=1", []int{p[1]})
	unix.Close(p[1])
	d := receive(t, c)
	d.Close()
	if d.Dropped != 1 {
		t.Errorf("dropped %d descriptors, want 1", d.Dropped)
	}
	unix.SetNonblock(p[0], true)
	var b [1]byte
	if n, err := unix.Read(p[0], b[:]); n != 0 || err != nil {
		t.Errorf("read of the barrier pipe: %d, %v; want end of file", n, err)
	}
}

// TestIntegrationTooLong checks that a datagram over MaxMessage is marked
// truncated.
func TestIntegrationTooLong(t *testing.T) {
	c := listen(t)
	send(t, c.Addr(), strings.Repeat("x", MaxMessage+10), nil)
	d := receive(t, c)
	d.Close()
	if !d.Truncated || len(d.Data) != MaxMessage {
		t.Errorf("truncated %t, %d bytes", d.Truncated, len(d.Data))
	}
}

// TestIntegrationCloseEndsWait checks that Close wakes a Wait.
func TestIntegrationCloseEndsWait(t *testing.T) {
	c, err := Listen()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- c.Wait() }()
	c.Close()
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrClosed) {
			t.Errorf("Wait after Close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Wait did not return after Close")
	}
}

// TestIntegrationAdopt checks that a kept descriptor is adopted under the
// same name.
func TestIntegrationAdopt(t *testing.T) {
	c := listen(t)
	fd, err := unix.Dup(c.FD())
	if err != nil {
		t.Fatal(err)
	}
	a, err := Adopt(fd)
	if err != nil {
		unix.Close(fd)
		t.Fatal(err)
	}
	defer a.Close()
	if a.Addr() != c.Addr() {
		t.Errorf("adopted %q, want %q", a.Addr(), c.Addr())
	}
	send(t, a.Addr(), "WATCHDOG=1", nil)
	d := receive(t, a)
	d.Close()
	if string(d.Data) != "WATCHDOG=1" {
		t.Errorf("received %q", d.Data)
	}
}

func TestFdinfoPid(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want int
		ok   bool
	}{
		{name: "alive", in: "pos:\t0\nflags:\t02000002\nmnt_id:\t15\nino:\t1234\nPid:\t4242\nNSpid:\t4242\n", want: 4242, ok: true},
		{name: "reaped", in: "pos:\t0\nPid:\t-1\n", want: -1, ok: true},
		{name: "none", in: "pos:\t0\n", ok: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := fdinfoPid([]byte(tt.in))
			if (err == nil) != tt.ok || got != tt.want {
				t.Errorf("fdinfoPid = %d, %v; want %d, ok %t", got, err, tt.want, tt.ok)
			}
		})
	}
}
