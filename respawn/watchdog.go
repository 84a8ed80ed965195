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

// wdDevice is the open device as the loop drives it: *hw.Device, or a
// stand-in in tests.
type wdDevice interface {
	FD() int
	Keepalive() error
	Disarm() error
	Fire() error
}

// watchdog is the task's state. The task's goroutine opens (or adopts)
// and sets up the device, then hands it to the event loop, which alone
// pets it: a keepalive is sent at half the timeout only if the loop is
// turning and respawn is healthy (unhealthy), so that a hung loop, or a
// task or required server given up, resets the machine.
type watchdog struct {
	cfg  WatchdogConfig
	task *Server

	dev    wdDevice   // loop-owned; nil until handed over, and after a disarm, a fire or a failure
	failed chan error // the loop's word to the task that the device failed
	watchdogState

	timer *time.Timer
	petC  <-chan time.Time
	due   int64 // CLOCK_MONOTONIC the next tick is for

	fired     bool               // fired: the machine resets
	frozen    bool               // kept for a live upgrade: no more keepalives from this image
	inherited *inheritedWatchdog // from the snapshot, for the task to adopt
}

// inheritedWatchdog is the device a live upgrade handed over.
type inheritedWatchdog struct {
	fd    int
	state watchdogState
}

// watchdogState is the part of the task's state a snapshot carries: the
// device as set up, and the keepalives so far.
type watchdogState struct {
	timeout  time.Duration // as the driver applied it
	identity string
	options  uint32

	lastPet int64  // CLOCK_MONOTONIC of the last keepalive; 0: none yet
	petting bool   // the last tick petted
	why     string // why the last tick did not
	pets    uint64
	maxLate time.Duration // the longest delay of a tick past its time
}

// addWatchdogTask adds the task "watchdog" when cfg.Watchdog is set. It
// does not keep the supervisor running on its own.
func (s *Supervisor) addWatchdogTask() {
	if s.cfg.Watchdog == nil {
		return
	}
	w := &watchdog{cfg: *s.cfg.Watchdog, failed: make(chan error, 1)}
	s.wd = w
	s.AddTask(watchdogTask, false, w.run(s))
	w.task = s.recs[len(s.recs)-1] // named watchdog-2 if a server took the name
}

// watchdogTask is the task's name: the watchdog does not count itself
// among the tasks that must be alive for it to pet (see unhealthy).
const watchdogTask = "watchdog"

// interval is the time between keepalives: half the timeout.
func (w *watchdog) interval() time.Duration { return w.timeout / 2 }

// WatchdogInfo is the watchdog task's device, as list, status and the
// dump show it.
type WatchdogInfo struct {
	Device        string  `json:"device"`
	Identity      string  `json:"identity,omitempty"`
	State         string  `json:"state"` // open, closed, fired, or kept (during a live upgrade)
	TimeoutSec    float64 `json:"timeout_s,omitempty"`
	Petting       bool    `json:"petting"`
	Why           string  `json:"why,omitempty"`            // why not petting
	LastKeepalive string  `json:"last_keepalive,omitempty"` // RFC 3339
	Keepalives    uint64  `json:"keepalives"`
	MaxLateSec    float64 `json:"max_late_s"` // the longest delay of a keepalive past its time
}

// watchdogInfo is the device's state now, or nil without --watchdog-device.
func (s *Supervisor) watchdogInfo() *WatchdogInfo {
	w := s.wd
	if w == nil {
		return nil
	}
	in := &WatchdogInfo{
		Device: w.cfg.Device, Identity: w.identity, State: "closed", TimeoutSec: w.timeout.Seconds(),
		Petting: w.petting && w.dev != nil, Why: w.why, Keepalives: w.pets, MaxLateSec: w.maxLate.Seconds(),
	}
	switch {
	case w.fired:
		in.State = "fired"
	case w.dev != nil && w.frozen:
		in.State = "kept"
	case w.dev != nil:
		in.State = "open"
	}
	if w.lastPet != 0 {
		in.LastKeepalive = rfc3339(realtimeNs() - (monotonicNs() - w.lastPet))
	}
	return in
}

// String is the device's state in one line, as list and the dump show it.
func (in *WatchdogInfo) String() string {
	b := fmt.Appendf(nil, "%s %s timeout=%s", in.Device, in.State, time.Duration(in.TimeoutSec*float64(time.Second)))
	switch {
	case in.Petting:
		b = append(b, " petting"...)
	case in.Why != "":
		b = fmt.Appendf(b, " not petting (%s)", in.Why)
	default:
		b = append(b, " not petting"...)
	}
	b = fmt.Appendf(b, " keepalives=%d max_late=%s", in.Keepalives, time.Duration(in.MaxLateSec*float64(time.Second)).Round(time.Microsecond))
	if in.LastKeepalive != "" {
		b = append(b, " last="...)
		b = append(b, in.LastKeepalive...)
	}
	return string(b)
}

// testHang is a hook of test builds (see hang_testhooks.go), called as
// SIGUSR1 is handled; nil otherwise.
var testHang func(*Supervisor)
