// Package hw drives a Linux hardware watchdog through the kernel's
// watchdog API (Documentation/watchdog/watchdog-api.rst): a device that
// resets the machine unless it is petted within its timeout.
//
// Open opens a device such as /dev/watchdog0, which starts it: from then
// on the caller must call Keepalive within every timeout, or end with
// Disarm or Fire. Adopt takes a descriptor kept open across a live
// upgrade (the device is never closed during one) and checks that it is a
// watchdog. FD returns the descriptor to keep.
//
// Info reads WDIOC_GETSUPPORT: the driver's identity, firmware version and
// options (MAGICCLOSE, SETTIMEOUT, KEEPALIVEPING...). SetTimeout sets
// WDIOC_SETTIMEOUT and returns the timeout the driver applied, which may
// differ from the one asked for (drivers round and clamp). Timeout reads
// it back. BootStatus reads WDIOC_GETBOOTSTATUS; CardReset says whether
// the last boot was a watchdog reset.
//
// Keepalive pets the device: WDIOC_KEEPALIVE, or, where the driver lacks
// WDIOF_KEEPALIVEPING, a one-byte write (never 'V', which would allow the
// next close to stop the device).
//
// Disarm stops the device the safe way, the magic close: 'V' written, then
// close. Without WDIOF_MAGICCLOSE it closes anyway and returns
// ErrNoMagicClose: the device may go on and fire. A kernel built or loaded
// with nowayout never stops the device on close, and user space cannot
// see that from here. Fire sets the timeout to one second and closes
// without 'V': the machine resets a second later.
//
// A Device is not safe for concurrent use: one goroutine (respawn's event
// loop) owns it.
//
// github.com/mdlayher/watchdog is not used: it opens only /dev/watchdog,
// cannot adopt a descriptor kept across a live upgrade, and cannot set the
// timeout.
package hw
