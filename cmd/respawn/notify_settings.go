package main

import (
	"errors"
	"time"

	"respawn/notify"
	"respawn/respawn"
)

// parseReady reads --ready (wait respawn.DefaultReadyTimeout) or
// --ready=TIMEOUT: the groups after this one start once it sends
// READY=1, or when TIMEOUT has passed.
func parseReady(st *respawn.Settings, v string) error {
	st.Ready = true
	if v == "" {
		return nil
	}
	var d seconds
	if err := d.Set(v); err != nil {
		return err
	}
	if d == 0 || time.Duration(d) > maxNotifyTimeout {
		return errors.New("want a timeout from 1ms to 24h")
	}
	st.ReadyTimeout = time.Duration(d)
	return nil
}

// parseWatchdog reads --watchdog=D, systemd's WatchdogSec (not the
// hardware watchdog, which is the global --watchdog-device).
func parseWatchdog(st *respawn.Settings, v string) error {
	var d seconds
	if err := d.Set(v); err != nil {
		return err
	}
	if time.Duration(d) < time.Millisecond || time.Duration(d) > maxNotifyTimeout {
		return errors.New("want a timeout from 1ms to 24h (systemd's WatchdogSec; the hardware watchdog is the global --watchdog-device)")
	}
	st.Watchdog = time.Duration(d)
	return nil
}

// maxNotifyTimeout bounds --ready and --watchdog, as the protocol bounds
// WATCHDOG_USEC.
const maxNotifyTimeout = notify.MaxWatchdogUsec * time.Microsecond
