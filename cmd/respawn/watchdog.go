package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"respawn/respawn"
)

// watchdogFlags are the hardware watchdog's flags, and --watchdog-require,
// which systemd's watchdog (WATCHDOG_USEC) obeys too.
type watchdogFlags struct {
	device  string
	timeout seconds
	require []string
	resetOn string
}

func addWatchdogFlags(fs *pflag.FlagSet, w *watchdogFlags) {
	fs.StringVar(&w.device, "watchdog-device", "", "pet this hardware watchdog (for example /dev/watchdog0) from the event loop while respawn is healthy; a hung respawn resets the machine")
	fs.Var(&w.timeout, "watchdog-timeout", "with --watchdog-device: set the device's timeout (the driver may round it; default: leave the device's); keepalives go at half of it")
	fs.StringSliceVar(&w.require, "watchdog-require", nil, "NAME,...: servers that must not be buried or cremated for respawn to pet a watchdog (the hardware one, or systemd's)")
	fs.StringVar(&w.resetOn, "watchdog-reset-on", "", "with --watchdog-device: buried: a server buried fires the watchdog at once (timeout 1s, no magic close)")
}

func (w *watchdogFlags) check() error {
	switch {
	case w.device == "" && (w.timeout != 0 || w.resetOn != ""):
		return errors.New("--watchdog-timeout and --watchdog-reset-on need --watchdog-device")
	case w.device != "" && !filepath.IsAbs(w.device):
		return fmt.Errorf("--watchdog-device %q: want an absolute path", w.device)
	case w.timeout != 0 && (time.Duration(w.timeout) < time.Second || time.Duration(w.timeout) > respawn.MaxWatchdogTimeout):
		return fmt.Errorf("--watchdog-timeout=%s: want 1s to %s", time.Duration(w.timeout), respawn.MaxWatchdogTimeout)
	case w.resetOn != "" && w.resetOn != "buried":
		return fmt.Errorf("--watchdog-reset-on %q: want buried", w.resetOn)
	}
	for _, name := range w.require {
		if name == "" || strings.ContainsAny(name, " \t\n") {
			return fmt.Errorf("--watchdog-require: bad server name %q", name)
		}
	}
	return nil
}

// watchdogConfig is the watchdog task's configuration, or nil without
// --watchdog-device.
func watchdogConfig(w *watchdogFlags) *respawn.WatchdogConfig {
	if w.device == "" {
		return nil
	}
	return &respawn.WatchdogConfig{Device: w.device, Timeout: time.Duration(w.timeout), ResetOnBuried: w.resetOn == "buried"}
}
