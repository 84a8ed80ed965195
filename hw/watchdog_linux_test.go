//go:build linux

package hw

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestOpenRefuses checks that Open refuses what is not a watchdog: a
// missing path, a regular file, a directory (none of them opened for
// writing), and a character device that is not a watchdog (/dev/null).
// The real devices are tested in a VM: test/vm_hw_test.go.
func TestOpenRefuses(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, want string
	}{
		{name: "missing", path: filepath.Join(dir, "none"), want: "no such file"},
		{name: "regular file", path: file, want: "not a character device"},
		{name: "directory", path: dir, want: "not a character device"},
		{name: "not a watchdog", path: "/dev/null", want: "not a watchdog"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Open(tt.path)
			if err == nil {
				d.Disarm()
				t.Fatalf("Open(%s) succeeded", tt.path)
			}
			if !strings.HasPrefix(err.Error(), "hw: ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open(%s) = %v, want an hw: error saying %q", tt.path, err, tt.want)
			}
		})
	}
	if b, err := os.ReadFile(file); err != nil || string(b) != "keep" {
		t.Errorf("the regular file was changed: %q, %v", b, err)
	}
}

// TestAdoptRefuses checks that Adopt refuses a descriptor of a regular
// file, of a pipe and of /dev/null, and leaves it open: it is the
// caller's.
func TestAdoptRefuses(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "file"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	null, err := os.OpenFile("/dev/null", os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	tests := []struct {
		name string
		fd   int
		want string
	}{
		{name: "regular file", fd: int(f.Fd()), want: "not a character device"},
		{name: "pipe", fd: int(w.Fd()), want: "not a character device"},
		{name: "not a watchdog", fd: int(null.Fd()), want: "not a watchdog"},
		{name: "closed", fd: 1 << 20, want: "bad file descriptor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Adopt(tt.fd); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Adopt(%d) = %v, want an error saying %q", tt.fd, err, tt.want)
			}
			if tt.fd < 1<<20 {
				if _, err := unix.FcntlInt(uintptr(tt.fd), unix.F_GETFD, 0); err != nil {
					t.Errorf("Adopt closed the descriptor: %v", err)
				}
			}
		})
	}
}

// TestOptionBits ties the UAPI option bits hw declares for every system
// to golang.org/x/sys/unix's.
func TestOptionBits(t *testing.T) {
	tests := []struct {
		name      string
		ours, sys int
	}{
		{name: "CARDRESET", ours: OptCardReset, sys: unix.WDIOF_CARDRESET},
		{name: "SETTIMEOUT", ours: OptSetTimeout, sys: unix.WDIOF_SETTIMEOUT},
		{name: "MAGICCLOSE", ours: OptMagicClose, sys: unix.WDIOF_MAGICCLOSE},
		{name: "KEEPALIVEPING", ours: OptKeepalivePing, sys: unix.WDIOF_KEEPALIVEPING},
	}
	for _, tt := range tests {
		if tt.ours != tt.sys {
			t.Errorf("%s: hw has %#x, the kernel %#x", tt.name, tt.ours, tt.sys)
		}
	}
	i := Info{Options: OptMagicClose | OptKeepalivePing}
	if !i.MagicClose() || !i.KeepalivePing() || i.SetsTimeout() || !CardReset(OptCardReset) || CardReset(OptMagicClose) {
		t.Errorf("Info %+v: the option methods disagree with the bits", i)
	}
}

// TestWritesToADriver checks the bytes Keepalive, Disarm and Fire write
// for a driver with and without KEEPALIVEPING and MAGICCLOSE. This
// machine has no watchdog: a pipe stands in for the device (a test
// double, named so); test/vm_hw_test.go drives real ones.
func TestWritesToADriver(t *testing.T) {
	tests := []struct {
		name    string
		options uint32
		do      func(*Device) error
		want    string
		wantErr error
	}{
		{name: "keepalive by write", do: (*Device).Keepalive, want: "\x00"},
		{name: "magic close", options: OptMagicClose, do: (*Device).Disarm, want: "V"},
		{name: "no magic close", do: (*Device).Disarm, want: "", wantErr: ErrNoMagicClose},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			fd, err := unix.Dup(int(w.Fd()))
			w.Close()
			if err != nil {
				t.Fatal(err)
			}
			d := &Device{fd: fd, options: tt.options}
			if err := tt.do(d); !errors.Is(err, tt.wantErr) {
				t.Errorf("got %v, want %v", err, tt.wantErr)
			}
			if d.FD() >= 0 {
				d.close()
			}
			if got, _ := io.ReadAll(r); string(got) != tt.want {
				t.Errorf("wrote %q, want %q", got, tt.want)
			}
			if err := d.Keepalive(); !errors.Is(err, os.ErrClosed) {
				t.Errorf("Keepalive after close = %v, want os.ErrClosed", err)
			}
		})
	}
}
