package respawn

import (
	"errors"
	"slices"
)

// ErrUpgradeUnavailable is returned when this build cannot re-execute.
var ErrUpgradeUnavailable = errors.New("respawn: live upgrade is not available")

// Upgrade starts a live upgrade and returns at once. It must run on the
// event loop (from a Do function). The new binary's pre-flight check runs
// beside the loop, which goes on supervising; when it has answered, the
// loop takes a fresh snapshot and re-executes the binary in this process,
// so that every server stays its child. done, if not nil, is called on the
// loop with the reason the upgrade was refused, failed or was cancelled by
// a shutdown; on success it is never called: execve has replaced the
// process. While an upgrade is under way, another request joins it: its
// done is called with the same outcome.
func (s *Supervisor) Upgrade(done func(error)) {
	switch {
	case s.stopping:
		s.refuse(done, errors.New("respawn: upgrade: shutting down"))
		return
	case s.cfg.Binary == "":
		s.refuse(done, ErrUpgradeUnavailable)
		return
	case s.upgrade != nil:
		s.log.Info("upgrade already under way: request joined to it")
		s.upgrade.waiters = append(s.upgrade.waiters, done)
		return
	}
	u, err := s.startUpgrade()
	if err != nil {
		s.refuse(done, err)
		return
	}
	u.waiters = append(u.waiters, done)
	s.upgrade = u
}

// upgradeDone logs why the upgrade did not happen, once, and tells every
// request that waits for it.
func (s *Supervisor) upgradeDone(u *upgrading, err error) {
	s.refuse(nil, err)
	u.tell(err)
}

// tell calls every request's done with err, once.
func (u *upgrading) tell(err error) {
	for _, done := range u.waiters {
		if done != nil {
			done(err)
		}
	}
	u.waiters = nil
}

func (s *Supervisor) refuse(done func(error), err error) {
	s.log.Error("respawn: upgrade refused, carrying on", "err", err)
	if done != nil {
		done(err)
	}
}

// onUpgradeSignal handles SIGHUP: the live upgrade.
func (s *Supervisor) onUpgradeSignal() { s.Upgrade(nil) }

// KeepFD registers a descriptor that a live upgrade keeps open for the new
// image, under a role the new image finds it by. It must be called before
// Run.
func (s *Supervisor) KeepFD(role string, fd int) {
	s.dropFD(role)
	s.cfg.Keep = append(s.cfg.Keep, KeptFD{Role: role, FD: fd})
}

// dropFD forgets the kept descriptor of role (it was closed).
func (s *Supervisor) dropFD(role string) {
	s.cfg.Keep = slices.DeleteFunc(s.cfg.Keep, func(k KeptFD) bool { return k.Role == role })
}
