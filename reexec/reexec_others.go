//go:build !linux

package reexec

import (
	"errors"
	"fmt"
	"syscall"
)

// Exec is not available on this system.
func Exec(path string, args, env []string, state []byte, keep []int, hold []syscall.Signal) error {
	return fmt.Errorf("reexec: %w", errors.ErrUnsupported)
}

// ReadState is not available on this system.
func ReadState(fd int) ([]byte, error) {
	return nil, fmt.Errorf("reexec: %w", errors.ErrUnsupported)
}

// CloseInherited does nothing on this system.
func CloseInherited(keep map[int]bool) []int { return nil }

// Inherited is empty on this system.
func Inherited() map[int]bool { return nil }

// CloseOnExecInherited does nothing on this system.
func CloseOnExecInherited() {}

// SealedState is not available on this system.
func SealedState(state []byte) (int, error) {
	return -1, fmt.Errorf("reexec: %w", errors.ErrUnsupported)
}
