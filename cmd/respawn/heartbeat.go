package main

import (
	"strings"

	"github.com/spf13/pflag"

	"respawn/marshal"
	"respawn/respawn"
)

// addHeartbeatFlags adds --heartbeat-dir.
func addHeartbeatFlags(fs *pflag.FlagSet, d *dirFlag) {
	fs.Var(d, "heartbeat-dir", "run AHM's heartbeat monitor on this directory (owned by root, not writable by others unless sticky): applications register there as .phm_<PID>_XXXXXX files and beat over a FIFO; one that misses its deadline is killed or logged, as it registered")
}

// heartbeatConfig is the heartbeat task's configuration, or nil without
// --heartbeat-dir.
func heartbeatConfig(d *dirFlag) *respawn.HeartbeatConfig {
	if !d.set {
		return nil
	}
	return &respawn.HeartbeatConfig{Dir: d.path}
}

// keptRole reports whether this binary adopts a kept descriptor of that
// role after a live upgrade: one of keptRoles, or a heartbeat
// registrant's (a role per registrant).
func keptRole(role string) bool {
	return keptRoles[role] || strings.HasPrefix(role, marshal.HeartbeatRolePrefix)
}
