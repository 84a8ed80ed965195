package hw

import (
	"errors"
	"time"
)

// The option bits of WDIOC_GETSUPPORT, from the kernel's UAPI
// (linux/watchdog.h), which does not change them.
const (
	OptCardReset     = 0x0020 // WDIOF_CARDRESET: the last boot was a watchdog reset
	OptSetTimeout    = 0x0080 // WDIOF_SETTIMEOUT
	OptMagicClose    = 0x0100 // WDIOF_MAGICCLOSE
	OptKeepalivePing = 0x8000 // WDIOF_KEEPALIVEPING
)

// ErrNoMagicClose is returned by Disarm when the driver does not support
// the magic close: the device was closed but may keep running and fire.
var ErrNoMagicClose = errors.New("hw: the driver has no magic close: the watchdog may fire")

// Device is an open watchdog device. It is not safe for concurrent use.
type Device struct {
	fd      int // -1 once closed
	options uint32
}

// Info is what the driver says of itself (WDIOC_GETSUPPORT).
type Info struct {
	Identity string
	Firmware uint32
	Options  uint32
}

// MagicClose reports whether writing 'V' before close stops the device.
func (i Info) MagicClose() bool { return i.Options&OptMagicClose != 0 }

// SetsTimeout reports whether the driver accepts WDIOC_SETTIMEOUT.
func (i Info) SetsTimeout() bool { return i.Options&OptSetTimeout != 0 }

// KeepalivePing reports whether the driver accepts WDIOC_KEEPALIVE.
func (i Info) KeepalivePing() bool { return i.Options&OptKeepalivePing != 0 }

// CardReset reports whether a WDIOC_GETBOOTSTATUS value says the last
// boot was caused by the watchdog.
func CardReset(status uint32) bool { return status&OptCardReset != 0 }

// Open opens the watchdog device at path, which starts it. A path that is
// not a character device, or a device that does not answer
// WDIOC_GETSUPPORT, is refused (and closed without having been written).
func Open(path string) (*Device, error) { return open(path) }

// Adopt takes fd, a watchdog descriptor kept across a live upgrade, after
// checking that it is a character device that answers WDIOC_GETSUPPORT.
// On an error fd is left open: it is still the caller's.
func Adopt(fd int) (*Device, error) { return adopt(fd) }

// FD returns the descriptor, to keep across a live upgrade; -1 once the
// device is closed.
func (d *Device) FD() int { return d.fd }

// Info reads the driver's identity, firmware version and options.
func (d *Device) Info() (Info, error) { return d.info() }

// SetTimeout asks for timeout d, rounded up to whole seconds, and returns
// the timeout the driver applied. Setting it also pets the device.
func (d *Device) SetTimeout(t time.Duration) (time.Duration, error) { return d.setTimeout(t) }

// Timeout returns the device's current timeout.
func (d *Device) Timeout() (time.Duration, error) { return d.timeout() }

// BootStatus returns WDIOC_GETBOOTSTATUS: see CardReset.
func (d *Device) BootStatus() (uint32, error) { return d.bootStatus() }

// Keepalive pets the device.
func (d *Device) Keepalive() error { return d.keepalive() }

// Disarm stops the device with the magic close and closes it; see
// ErrNoMagicClose.
func (d *Device) Disarm() error { return d.disarm() }

// Fire sets the timeout to one second and closes the device without the
// magic close, so that the machine resets a second later.
func (d *Device) Fire() error { return d.fire() }
