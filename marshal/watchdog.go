package marshal

import "fmt"

// Watchdog is the hardware watchdog task's state across a live upgrade:
// the device (its descriptor is among FDs, role "watchdog"), the timeout
// the driver applied, and the pet timer's phase, so that the new image's
// first keepalive comes when the old image's next would have.
type Watchdog struct {
	Device    string `msgpack:"device"`
	TimeoutNs int64  `msgpack:"timeout"`
	LastPetNs int64  `msgpack:"lastpet"` // CLOCK_MONOTONIC of the last keepalive
	Petting   bool   `msgpack:"petting"`
	Why       string `msgpack:"why,omitempty"` // why not, when not petting
	Pets      uint64 `msgpack:"pets"`
	MaxLateNs int64  `msgpack:"maxlate"` // the longest delay of a keepalive past its time
	Identity  string `msgpack:"identity,omitempty"`
	Options   uint32 `msgpack:"options"`
}

// Bounds of Watchdog: drivers take 16 bits of seconds at most.
const (
	MaxWatchdogTimeoutNs = 65535 * 1e9
	MaxWatchdogText      = 256
)

func (w *Watchdog) validate() error {
	switch {
	case w == nil:
		return nil
	case w.Device == "" || len(w.Device) > MaxAcctDir || w.Device[0] != '/':
		return fmt.Errorf("marshal: watchdog device %q", w.Device)
	case w.TimeoutNs <= 0 || w.TimeoutNs > MaxWatchdogTimeoutNs:
		return fmt.Errorf("marshal: watchdog timeout %d ns", w.TimeoutNs)
	case w.LastPetNs < 0 || w.MaxLateNs < 0:
		return fmt.Errorf("marshal: watchdog negative time")
	case len(w.Why) > MaxWatchdogText || len(w.Identity) > MaxWatchdogText:
		return fmt.Errorf("marshal: watchdog text of %d bytes", max(len(w.Why), len(w.Identity)))
	}
	return nil
}
