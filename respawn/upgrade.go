package respawn

import "errors"

// ErrUpgradeUnavailable is returned when this build cannot re-execute.
var ErrUpgradeUnavailable = errors.New("respawn: live upgrade is not available")

// onUpgradeSignal handles SIGHUP: the live upgrade.
func (s *Supervisor) onUpgradeSignal() {
	if err := s.Upgrade(); err != nil {
		s.log.Error("respawn: upgrade refused, carrying on", "err", err)
	}
}

// KeepFD registers a descriptor that a live upgrade keeps open for the new
// image, under a role the new image finds it by. It must be called before
// Run.
func (s *Supervisor) KeepFD(role string, fd int) {
	s.cfg.Keep = append(s.cfg.Keep, KeptFD{Role: role, FD: fd})
}
