package respawn

// onUpgradeSignal handles SIGHUP: the live upgrade.
func (s *Supervisor) onUpgradeSignal() {
	s.log.Warn("respawn: live upgrade is not available in this build")
}
