//go:build linux

package notify

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// receiver binds a datagram socket at addr, as systemd does, and
// returns it; the test closes it.
func receiver(t *testing.T, addr string) int {
	t.Helper()
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: addr}); err != nil {
		t.Fatal(err)
	}
	return fd
}

func receiveRaw(t *testing.T, fd int) string {
	t.Helper()
	tv := unix.Timeval{Sec: 5}
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, MaxSend+1)
	n, _, err := unix.Recvfrom(fd, buf, 0)
	if err != nil {
		t.Fatal("receiving:", err)
	}
	return string(buf[:n])
}

func TestIntegrationClientSends(t *testing.T) {
	for _, tc := range []struct{ name, addr string }{
		{"path", filepath.Join(t.TempDir(), "notify")},
		{"abstract", fmt.Sprintf("@respawn-notify-test-%d", os.Getpid())},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fd := receiver(t, tc.addr)
			c, err := ClientFromEnv(func(k string) string {
				if k == "NOTIFY_SOCKET" {
					return tc.addr
				}
				return ""
			})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.Send("READY=1\nSTATUS=up"); err != nil {
				t.Fatal(err)
			}
			if got := receiveRaw(t, fd); got != "READY=1\nSTATUS=up" {
				t.Fatalf("received %q", got)
			}
			if err := c.Send(string(make([]byte, MaxSend+1))); err == nil {
				t.Fatal("a message over MaxSend was sent")
			}
		})
	}
}

// TestIntegrationClientNeverWaits: a receiver that never reads fills up,
// and sends then fail at once with EAGAIN instead of waiting; a socket
// nobody binds fails too.
func TestIntegrationClientNeverWaits(t *testing.T) {
	addr := filepath.Join(t.TempDir(), "notify")
	receiver(t, addr)
	c, err := NewClient(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for err == nil {
		if time.Now().After(deadline) {
			t.Fatal("sends to a receiver that never reads still succeed")
		}
		err = c.Send("WATCHDOG=1")
	}
	if !errors.Is(err, unix.EAGAIN) {
		t.Fatalf("a full receiver: %v, want EAGAIN", err)
	}
	nobody, err := NewClient(filepath.Join(t.TempDir(), "none"))
	if err != nil {
		t.Fatal(err)
	}
	defer nobody.Close()
	if err := nobody.Send("READY=1"); !errors.Is(err, unix.ENOENT) {
		t.Fatalf("no socket there: %v, want ENOENT", err)
	}
}
