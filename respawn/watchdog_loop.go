package respawn

import (
	"errors"
	"fmt"
	"time"

	"respawn/hw"
)

// watchdogStarted runs on the loop once the task has the device: the loop
// owns it from now on. A device a live upgrade handed over keeps its pet
// timer's phase; a new one is petted at once.
func (s *Supervisor) watchdogStarted(dev wdDevice, st watchdogState) {
	w := s.wd
	w.dev, w.timeout, w.identity, w.options = dev, st.timeout, st.identity, st.options
	due := monotonicNs()
	if st.lastPet != 0 { // handed over by a live upgrade, with its keepalives so far
		w.watchdogState = st
		due = max(due, st.lastPet+int64(w.interval()))
	}
	s.log.Info("watchdog: armed", "device", w.cfg.Device, "timeout", w.timeout.String(), "keepalive_every", w.interval().String())
	w.arm(due)
}

// arm sets the pet timer for the CLOCK_MONOTONIC time at.
func (w *watchdog) arm(at int64) {
	w.due = at
	d := time.Duration(at - monotonicNs())
	if w.timer == nil {
		w.timer = time.NewTimer(d)
	} else {
		w.timer.Reset(d)
	}
	w.petC = w.timer.C // disarmTimer took it away
}

// disarmTimer stops the pet timer: no more ticks.
func (w *watchdog) disarmTimer() {
	if w.timer != nil {
		w.timer.Stop()
	}
	w.petC = nil
}

// petC is the pet timer's channel, nil when there is none.
func (s *Supervisor) petC() <-chan time.Time {
	if s.wd == nil {
		return nil
	}
	return s.wd.petC
}

// onWatchdogTick is the pet timer's tick, on the event loop: a keepalive
// if respawn is healthy, none (and a log line once) if not.
func (s *Supervisor) onWatchdogTick() {
	w := s.wd
	if w.dev == nil || w.frozen {
		return
	}
	now := monotonicNs()
	w.maxLate = max(w.maxLate, time.Duration(now-w.due))
	why := s.unhealthy()
	switch {
	case why == "":
		if err := w.dev.Keepalive(); err != nil {
			s.watchdogFailed(fmt.Errorf("respawn: watchdog: keepalive: %w", err))
			return
		}
		if !w.petting && w.pets > 0 {
			s.log.Info("watchdog: petting again", "device", w.cfg.Device)
		}
		w.lastPet, w.petting, w.why = now, true, ""
		w.pets++
	case w.petting || why != w.why:
		s.log.Error("watchdog: not petting: the device fires unless respawn is healthy again", "device", w.cfg.Device,
			"why", why, "fires_in", time.Duration(w.lastPet+int64(w.timeout)-now).Round(time.Millisecond).String())
		w.petting, w.why = false, why
	}
	w.arm(now + int64(w.interval()))
}

// watchdogFailed handles a device that failed after it was set up: the
// error is logged, the device disarmed if it can be, and the task buried;
// supervision goes on without it.
func (s *Supervisor) watchdogFailed(err error) {
	w := s.wd
	s.log.Error("watchdog: the device failed", "device", w.cfg.Device, "err", err)
	w.disarm(w.dev, s.log, "the device failed")
	w.dev = nil
	w.disarmTimer()
	select {
	case w.failed <- err:
	default:
	}
}

// watchdogFire resets the machine through the device: timeout 1 s, closed
// without the magic close (--watchdog-reset-on=buried, or an operator).
// It reports whether the device was open to fire.
func (s *Supervisor) watchdogFire(why string) bool {
	w := s.wd
	if w == nil || w.dev == nil || w.frozen {
		return false
	}
	s.log.Error("watchdog: firing: the machine resets in about a second", "device", w.cfg.Device, "why", why)
	if err := w.dev.Fire(); err != nil {
		s.log.Error("watchdog: fire", "device", w.cfg.Device, "err", err)
	}
	w.dev, w.fired = nil, true
	w.disarmTimer()
	return true
}

// watchdogEnded is the task's end, on the loop: stopped by an operator,
// the device is disarmed; at a shutdown, the loop keeps petting it until
// the end (watchdogEnd).
func (s *Supervisor) watchdogEnded() {
	w := s.wd
	if s.stopping || w.dev == nil {
		return
	}
	w.disarm(w.dev, s.log, "the task was stopped")
	w.dev = nil
	w.disarmTimer()
}

// watchdogEnd is supervision's end: a clean stop disarms the device with
// the magic close. An end forced by buried servers (--exit-when-buried)
// leaves it armed, to fire.
func (s *Supervisor) watchdogEnd() {
	w := s.wd
	if w == nil || w.dev == nil {
		return
	}
	w.disarmTimer()
	if s.buriedStatus != 0 {
		s.log.Error("watchdog: left armed: supervision ended with servers buried", "device", w.cfg.Device,
			"fires_in", time.Duration(w.lastPet+int64(w.timeout)-monotonicNs()).Round(time.Millisecond).String())
		return
	}
	w.disarm(w.dev, s.log, "respawn stops")
	w.dev = nil
}

// watchdogBuried fires the device when a server is buried, under
// --watchdog-reset-on=buried.
func (s *Supervisor) watchdogBuried(r *Server) {
	if s.wd != nil && s.wd.cfg.ResetOnBuried && r.task == nil {
		s.watchdogFire("server " + r.Name + " buried")
	}
}

// FireWatchdog resets the machine through the watchdog device at once
// (respawnctl watchdog --fire). It must run on the event loop.
func (s *Supervisor) FireWatchdog() error {
	switch {
	case s.wd == nil:
		return errors.New("no watchdog device (--watchdog-device)")
	case !s.watchdogFire("asked by an operator"):
		return errors.New("the watchdog device is not open")
	}
	return nil
}

var _ wdDevice = (*hw.Device)(nil)
