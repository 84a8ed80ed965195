//go:build !linux

package acct

import (
	"errors"
	"fmt"
)

// On is not supported outside Linux.
func On(path string) error {
	return fmt.Errorf("acct: %w", errors.ErrUnsupported)
}

// Off is not supported outside Linux.
func Off() error {
	return fmt.Errorf("acct: %w", errors.ErrUnsupported)
}
