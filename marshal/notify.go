package marshal

import (
	"errors"
	"fmt"
)

// The limits of a server's sd_notify state.
const (
	MaxNotifyStatus   = 4096            // bytes of STATUS= carried
	MaxWatchdogTimeNs = 24 * 3600 * 1e9 // a watchdog timeout: --watchdog and WATCHDOG_USEC= stop at a day
)

// Notify is what a server's process said over sd_notify, as
// respawn.Server holds it: it is carried only for an ALIVE server.
type Notify struct {
	Ready  bool   `msgpack:"ready"`
	Status string `msgpack:"status"`
	// WatchdogNs is the raw CLOCK_MONOTONIC at which the next WATCHDOG=1
	// is overdue, or 0; WatchdogTimeoutNs the timeout in force.
	WatchdogNs        int64 `msgpack:"dog"`
	WatchdogTimeoutNs int64 `msgpack:"dog_timeout"`
	WatchdogFired     bool  `msgpack:"dog_fired"` // SIGABRT was sent to the process
	MainPid           bool  `msgpack:"mainpid"`   // its pid came from MAINPID=
}

// validate checks the sd_notify state of record r.
func (n *Notify) validate(r *Record) error {
	switch {
	case n == nil:
		return nil
	case r.Task || r.State != stateAlive:
		return fmt.Errorf("sd_notify state in state %d", r.State)
	case len(n.Status) > MaxNotifyStatus:
		return fmt.Errorf("a status of %d bytes, over the limit of %d", len(n.Status), MaxNotifyStatus)
	case n.WatchdogNs < 0 || n.WatchdogTimeoutNs < 0 || n.WatchdogTimeoutNs > MaxWatchdogTimeNs:
		return fmt.Errorf("watchdog due %d, timeout %d", n.WatchdogNs, n.WatchdogTimeoutNs)
	case n.WatchdogNs != 0 && n.WatchdogTimeoutNs == 0:
		return errors.New("a watchdog due without a timeout")
	}
	return nil
}
