package main

import (
	"log/slog"

	"respawn/marshal"
	"respawn/respawn"
)

// addControl adds the control socket task unless --control=none. After a
// live upgrade snap is non-nil: the listener is the inherited descriptor
// whose role is "control" in snap.FDs, adopted instead of listening anew.
// The listener's descriptor is registered with s.KeepFD("control", fd) so
// that the next upgrade keeps it.
func addControl(s *respawn.Supervisor, o *options, log *slog.Logger, snap *marshal.Snapshot) error {
	return nil
}
