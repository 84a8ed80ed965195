package respawn

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"syscall"
	"time"

	"respawn/hw"
)

// run is the task: open the device (or take over the one a live upgrade
// kept), set it up, and hand it to the event loop, which pets it; then
// wait until the task is stopped or the loop says the device failed.
func (w *watchdog) run(s *Supervisor) TaskFunc {
	return func(ctx context.Context) error {
		dev, st, err := w.open(ctx, s.log)
		if err != nil || dev == nil {
			return err
		}
		if !s.Do(ctx, func(s *Supervisor) { s.watchdogStarted(dev, st) }) {
			w.disarm(dev, s.log, "the task ended before the loop took the device")
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case err := <-w.failed:
			return permanentError{err}
		}
	}
}

// open takes over the inherited device, or opens the configured one,
// waiting for it to appear (a module loaded after respawn started), and
// sets it up. It returns a nil device when ctx ends first.
func (w *watchdog) open(ctx context.Context, log *slog.Logger) (*hw.Device, watchdogState, error) {
	if in := w.inherited; in != nil {
		w.inherited = nil
		d, err := hw.Adopt(in.fd)
		if err == nil {
			log.Info("watchdog: device taken over", "device", w.cfg.Device, "timeout", in.state.timeout.String(), "fd", in.fd)
			return d, in.state, nil
		}
		syscall.Close(in.fd)
		log.Warn("watchdog: the kept device is not a watchdog: opening it anew", "device", w.cfg.Device, "err", err)
	}
	d, err := w.openWaiting(ctx, log)
	if err != nil || d == nil {
		return nil, watchdogState{}, err
	}
	st, err := w.setUp(d, log)
	if err != nil {
		w.disarm(d, log, "set-up failed")
		return nil, st, permanentError{err}
	}
	return d, st, nil
}

// openWaiting opens the device, waiting while it does not exist. A
// device busy with a descriptor of this very process (see ownDescriptor)
// is taken over.
func (w *watchdog) openWaiting(ctx context.Context, log *slog.Logger) (*hw.Device, error) {
	said := false
	for {
		d, err := hw.Open(w.cfg.Device)
		if errors.Is(err, syscall.EBUSY) {
			if fd := ownDescriptor(w.cfg.Device); fd >= 0 {
				if d, aerr := hw.Adopt(fd); aerr == nil {
					log.Warn("watchdog: the device was already open in respawn: taken over", "device", w.cfg.Device, "fd", fd)
					return d, nil
				}
			}
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return d, err
		}
		if !said {
			log.Warn("watchdog: waiting for the device to appear", "device", w.cfg.Device)
			said = true
		}
		select {
		case <-ctx.Done():
			return nil, nil
		case <-time.After(time.Second):
		}
	}
}

// setUp logs what the driver says of itself (WDIOC_GETSUPPORT), sets the
// timeout asked for and logs the one applied, and reads the boot status:
// a last boot caused by the watchdog is a warning.
func (w *watchdog) setUp(d *hw.Device, log *slog.Logger) (watchdogState, error) {
	info, err := d.Info()
	if err != nil {
		return watchdogState{}, err
	}
	log.Info("watchdog: device open", "device", w.cfg.Device, "identity", info.Identity, "firmware", info.Firmware,
		"options", optionNames(info.Options))
	st := watchdogState{identity: info.Identity, options: info.Options}
	if st.timeout, err = w.setTimeout(d, info, log); err != nil {
		return st, err
	}
	if st.timeout < time.Second {
		return st, fmt.Errorf("respawn: watchdog: the device's timeout is %s", st.timeout)
	}
	status, err := d.BootStatus()
	switch {
	case err != nil:
		log.Warn("watchdog: boot status not read", "err", err)
	case hw.CardReset(status):
		log.Warn("watchdog: the last boot was a watchdog reset", "device", w.cfg.Device, "bootstatus", fmt.Sprintf("%#x", status))
	default:
		log.Info("watchdog: boot status", "bootstatus", fmt.Sprintf("%#x", status))
	}
	return st, nil
}

// setTimeout sets the timeout asked for, if any, and returns the one in
// force.
func (w *watchdog) setTimeout(d *hw.Device, info hw.Info, log *slog.Logger) (time.Duration, error) {
	if w.cfg.Timeout > 0 && info.SetsTimeout() {
		applied, err := d.SetTimeout(w.cfg.Timeout)
		if err == nil {
			log.Info("watchdog: timeout set", "asked", w.cfg.Timeout.String(), "applied", applied.String())
		}
		return applied, err
	}
	t, err := d.Timeout()
	if err == nil && w.cfg.Timeout > 0 {
		log.Warn("watchdog: the driver cannot set its timeout: keeping its own", "asked", w.cfg.Timeout.String(), "timeout", t.String())
	}
	return t, err
}

// optionNames names the options of WDIOC_GETSUPPORT respawn uses.
func optionNames(o uint32) string {
	var names []string
	for _, n := range []struct {
		bit  uint32
		name string
	}{{hw.OptSetTimeout, "SETTIMEOUT"}, {hw.OptMagicClose, "MAGICCLOSE"}, {hw.OptKeepalivePing, "KEEPALIVEPING"}, {hw.OptCardReset, "CARDRESET"}} {
		if o&n.bit != 0 {
			names = append(names, n.name)
		}
	}
	return fmt.Sprintf("%#x %s", o, strings.Join(names, "|"))
}

// disarm stops the device with the magic close, and logs how it went.
func (w *watchdog) disarm(d wdDevice, log *slog.Logger, why string) {
	err := d.Disarm()
	switch {
	case errors.Is(err, hw.ErrNoMagicClose):
		log.Warn("watchdog: closed, but the driver has no magic close: the device fires", "device", w.cfg.Device, "why", why)
	case err != nil:
		log.Error("watchdog: not disarmed: the device may fire", "device", w.cfg.Device, "err", err, "why", why)
	default:
		log.Info("watchdog: disarmed", "device", w.cfg.Device, "why", why)
	}
}
