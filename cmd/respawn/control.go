package main

import (
	"log/slog"

	"respawn/respawn"
)

// addControl adds the control socket task unless --control=none.
func addControl(s *respawn.Supervisor, o *options, log *slog.Logger) error {
	return nil
}
