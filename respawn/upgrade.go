package respawn

import "errors"

// ErrUpgradeUnavailable is returned when this build cannot re-execute.
var ErrUpgradeUnavailable = errors.New("respawn: live upgrade is not available")

// onUpgradeSignal handles SIGHUP: the live upgrade.
func (s *Supervisor) onUpgradeSignal() {
	if err := s.Upgrade(); err != nil {
		s.log.Error("respawn: upgrade refused", "err", err)
	}
}

// Upgrade re-executes the supervisor's binary in this process, carrying
// its state across execve. It must run on the event loop (from a Do
// function). On success it does not return; an error means the upgrade
// was refused and nothing changed.
func (s *Supervisor) Upgrade() error { return ErrUpgradeUnavailable }
