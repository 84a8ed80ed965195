package control

import (
	"errors"
	"os"
	"path/filepath"
)

// SystemPath is the control socket of a supervisor run by root.
const SystemPath = "/run/respawn/control.sock"

// ErrNoDefaultPath is returned by DefaultPath for a user without
// $XDG_RUNTIME_DIR.
var ErrNoDefaultPath = errors.New("control: no default socket path: XDG_RUNTIME_DIR is not set (give a path)")

// DefaultPath is the control socket's path when none is given: SystemPath
// for root, $XDG_RUNTIME_DIR/respawn/control.sock for anyone else. respawn
// and respawnctl both use it, so that they meet without a flag.
func DefaultPath() (string, error) {
	return defaultPath(os.Getuid(), os.Getenv("XDG_RUNTIME_DIR"))
}

func defaultPath(uid int, runtimeDir string) (string, error) {
	if uid == 0 {
		return SystemPath, nil
	}
	if runtimeDir == "" || !filepath.IsAbs(runtimeDir) {
		return "", ErrNoDefaultPath
	}
	return filepath.Join(runtimeDir, "respawn", "control.sock"), nil
}
