//go:build !linux

package acct

import (
	"errors"
	"fmt"
)

// Check is not supported outside Linux.
func Check(cfg Config) error {
	return fmt.Errorf("acct: %w", errors.ErrUnsupported)
}

// ProbeExit is not supported outside Linux.
func ProbeExit() error {
	return fmt.Errorf("acct: %w", errors.ErrUnsupported)
}
