//go:build !linux

package acct

import (
	"errors"
	"fmt"
)

// ProbeExit is not supported outside Linux.
func ProbeExit() error { return fmt.Errorf("acct: %w", errors.ErrUnsupported) }
