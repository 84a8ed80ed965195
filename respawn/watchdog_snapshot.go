package respawn

import (
	"time"

	"respawn/marshal"
)

// freezeWatchdog keeps the device for a live upgrade: it is petted one
// last time by this image (if respawn is healthy), and its descriptor
// kept open across execve; the new image's first keepalive comes one
// interval after this one. It runs on the loop.
func (s *Supervisor) freezeWatchdog() {
	w := s.wd
	if w == nil || w.dev == nil || w.frozen {
		return
	}
	if s.unhealthy() == "" {
		if err := w.dev.Keepalive(); err == nil {
			w.lastPet = monotonicNs()
			w.pets++
		}
	}
	w.frozen = true
	s.KeepFD(WatchdogRole, w.dev.FD())
}

// thawWatchdog lets this image go on petting after a live upgrade that
// failed: the next tick comes at once.
func (s *Supervisor) thawWatchdog() {
	w := s.wd
	if w == nil || !w.frozen {
		return
	}
	w.frozen = false
	s.dropFD(WatchdogRole)
	if w.dev != nil {
		w.arm(monotonicNs())
	}
}

// watchdogRecord is the device's state for the snapshot, or nil.
func (s *Supervisor) watchdogRecord() *marshal.Watchdog {
	w := s.wd
	if w == nil || !w.frozen || w.dev == nil {
		return nil
	}
	return &marshal.Watchdog{
		Device: w.cfg.Device, TimeoutNs: int64(w.timeout), LastPetNs: w.lastPet, Petting: w.petting, Why: w.why,
		Pets: w.pets, MaxLateNs: int64(w.maxLate), Identity: w.identity, Options: w.options,
	}
}

// loadWatchdog takes the device a snapshot carried, for the task to
// adopt. A snapshot without the descriptor leaves the task to open the
// device anew.
func (s *Supervisor) loadWatchdog(snap *marshal.Snapshot) {
	w, m := s.wd, snap.Watchdog
	if w == nil || m == nil {
		return
	}
	fd := -1
	for _, k := range snap.FDs {
		if k.Role == WatchdogRole {
			fd = k.FD
		}
	}
	if fd < 0 {
		s.log.Warn("watchdog: the snapshot's device has no descriptor: opening it anew", "device", m.Device)
		return
	}
	w.inherited = &inheritedWatchdog{fd: fd, state: watchdogState{
		timeout: time.Duration(m.TimeoutNs), identity: m.Identity, options: m.Options,
		lastPet: m.LastPetNs, petting: m.Petting, why: m.Why, pets: m.Pets, maxLate: time.Duration(m.MaxLateNs),
	}}
}
