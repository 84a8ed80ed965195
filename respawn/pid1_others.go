//go:build !linux

package respawn

import (
	"log/slog"
	"os"
)

// MachineInit is false on this system, where respawn does not run.
func MachineInit() bool { return false }

// End exits with status code.
func End(code int, _ OnExit, _ *slog.Logger, _ func()) { os.Exit(code) }
