package respawn

import (
	"fmt"
	"slices"
	"time"
)

// WatchdogConfig sets up the task "watchdog": the hardware watchdog
// device respawn pets from its event loop while it is healthy (see
// unhealthy), so that a hung supervisor resets the machine.
type WatchdogConfig struct {
	Device        string        // the device, for example /dev/watchdog0
	Timeout       time.Duration // WDIOC_SETTIMEOUT; 0: leave the device's
	ResetOnBuried bool          // a server buried fires the device at once (timeout 1 s, no magic close)
}

// WatchdogRole is the role of the watchdog device among the descriptors
// a live upgrade keeps: the device is never closed during one.
const WatchdogRole = "watchdog"

// MaxWatchdogTimeout bounds --watchdog-timeout (and a timeout a snapshot
// carries): drivers take 16 bits of seconds at most.
const MaxWatchdogTimeout = 65535 * time.Second

// CheckRequire refuses a --watchdog-require name that is no server's.
func (s *Supervisor) CheckRequire() error {
	for _, name := range s.cfg.Require {
		r := s.byName[name]
		if r == nil || r.task != nil {
			names := []string{}
			for _, r := range s.recs {
				if r.task == nil {
					names = append(names, r.Name)
				}
			}
			slices.Sort(names)
			return fmt.Errorf("--watchdog-require: no server is named %q (servers: %v)", name, names)
		}
	}
	return nil
}
