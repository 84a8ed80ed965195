//go:build !linux

package watch

import (
	"errors"
	"fmt"
)

var errNoProc = fmt.Errorf("watch: /proc needs Linux: %w", errors.ErrUnsupported)

// ReadIdent is not supported here.
func ReadIdent(pid int) (Ident, error) { return Ident{}, errNoProc }

// ReadProc is not supported here.
func ReadProc(pid int) (Proc, error) { return Proc{}, errNoProc }

// Pids is not supported here.
func Pids() ([]int, error) { return nil, errNoProc }

// Ended is not supported here: it reports true.
func Ended(pid int, start uint64) bool { return true }
