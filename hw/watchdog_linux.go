//go:build linux

package hw

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

func open(path string) (*Device, error) {
	// Checked before the open, so that no other file is ever opened for
	// writing; checked again by fstat after it, against a swap.
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return nil, fmt.Errorf("hw: %s: %w", path, os.NewSyscallError("stat", err))
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR {
		return nil, fmt.Errorf("hw: %s is not a character device", path)
	}
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("hw: %s: %w", path, os.NewSyscallError("open", err))
	}
	d, err := check(fd)
	if err != nil {
		// Not a watchdog (every watchdog driver answers GETSUPPORT), so
		// nothing was armed: a plain close, no 'V' written to a stranger.
		unix.Close(fd)
		return nil, fmt.Errorf("hw: %s: %w", path, err)
	}
	return d, nil
}

func adopt(fd int) (*Device, error) {
	d, err := check(fd)
	if err != nil {
		return nil, fmt.Errorf("hw: descriptor %d: %w", fd, err)
	}
	return d, nil
}

// check makes a Device of fd if it is a character device that answers
// WDIOC_GETSUPPORT; its errors name neither the package nor fd.
func check(fd int) (*Device, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, os.NewSyscallError("fstat", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR {
		return nil, errors.New("not a character device")
	}
	wi, err := unix.IoctlGetWatchdogInfo(fd)
	if err != nil {
		return nil, fmt.Errorf("not a watchdog: %w", os.NewSyscallError("ioctl WDIOC_GETSUPPORT", err))
	}
	return &Device{fd: fd, options: wi.Options}, nil
}

func (d *Device) info() (Info, error) {
	if d.fd < 0 {
		return Info{}, errClosed
	}
	wi, err := unix.IoctlGetWatchdogInfo(d.fd)
	if err != nil {
		return Info{}, fmt.Errorf("hw: %w", os.NewSyscallError("ioctl WDIOC_GETSUPPORT", err))
	}
	id, _, _ := bytes.Cut(wi.Identity[:], []byte{0})
	return Info{Identity: string(id), Firmware: wi.Version, Options: wi.Options}, nil
}

var errClosed = fmt.Errorf("hw: watchdog: %w", os.ErrClosed)

func (d *Device) setTimeout(t time.Duration) (time.Duration, error) {
	if d.fd < 0 {
		return 0, errClosed
	}
	if t <= 0 {
		return 0, fmt.Errorf("hw: timeout %v is not positive", t)
	}
	secs := int((t + time.Second - 1) / time.Second)
	// IoctlSetPointerInt, not IoctlSetInt: the kernel reads an int
	// through the argument, which IoctlSetInt passes as a value.
	if err := unix.IoctlSetPointerInt(d.fd, unix.WDIOC_SETTIMEOUT, secs); err != nil {
		return 0, fmt.Errorf("hw: timeout %ds: %w", secs, os.NewSyscallError("ioctl WDIOC_SETTIMEOUT", err))
	}
	return d.timeout()
}

func (d *Device) timeout() (time.Duration, error) {
	if d.fd < 0 {
		return 0, errClosed
	}
	secs, err := unix.IoctlGetInt(d.fd, unix.WDIOC_GETTIMEOUT)
	if err != nil {
		return 0, fmt.Errorf("hw: %w", os.NewSyscallError("ioctl WDIOC_GETTIMEOUT", err))
	}
	return time.Duration(int32(secs)) * time.Second, nil
}

func (d *Device) bootStatus() (uint32, error) {
	if d.fd < 0 {
		return 0, errClosed
	}
	s, err := unix.IoctlGetInt(d.fd, unix.WDIOC_GETBOOTSTATUS)
	if err != nil {
		return 0, fmt.Errorf("hw: %w", os.NewSyscallError("ioctl WDIOC_GETBOOTSTATUS", err))
	}
	return uint32(s), nil
}

func (d *Device) keepalive() error {
	if d.fd < 0 {
		return errClosed
	}
	if d.options&OptKeepalivePing != 0 {
		if err := unix.IoctlWatchdogKeepalive(d.fd); err != nil {
			return fmt.Errorf("hw: %w", os.NewSyscallError("ioctl WDIOC_KEEPALIVE", err))
		}
		return nil
	}
	// Any byte but 'V' pets without allowing the next close to stop it.
	if _, err := unix.Write(d.fd, []byte{0}); err != nil {
		return fmt.Errorf("hw: keepalive: %w", os.NewSyscallError("write", err))
	}
	return nil
}

func (d *Device) disarm() error {
	if d.fd < 0 {
		return errClosed
	}
	var werr error
	if d.options&OptMagicClose != 0 {
		// The magic close: 'V' is the last byte written before close,
		// which tells the driver the close is meant and stops the device.
		if _, err := unix.Write(d.fd, []byte("V")); err != nil {
			werr = fmt.Errorf("hw: magic close: %w", os.NewSyscallError("write", err))
		}
	} else {
		werr = ErrNoMagicClose
	}
	return errors.Join(werr, d.close())
}

func (d *Device) fire() error {
	if d.fd < 0 {
		return errClosed
	}
	var serr error
	if _, err := d.setTimeout(time.Second); err != nil {
		serr = fmt.Errorf("hw: fire: the device keeps its timeout: %w", err)
	}
	return errors.Join(serr, d.close())
}

func (d *Device) close() error {
	fd := d.fd
	d.fd = -1
	if err := unix.Close(fd); err != nil {
		return fmt.Errorf("hw: %w", os.NewSyscallError("close", err))
	}
	return nil
}
