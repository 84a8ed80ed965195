// Package reexec hands a state snapshot and chosen descriptors across
// execve, so that a process can replace its own image and carry on as the
// same process: same pid, same children.
//
// The snapshot travels in a sealed memfd whose number is passed to the new
// image as --state-fd=N, right after --re-exec and before every other
// argument, so that no argument of the caller's can swallow it.
package reexec

import "errors"

// MaxState bounds the snapshot a new image accepts.
const MaxState = 64 << 20

// Flag names the new image is started with.
const (
	FlagReExec  = "--re-exec"
	FlagStateFD = "--state-fd"
)

var (
	errTooBig = errors.New("reexec: state larger than MaxState")
	errShort  = errors.New("reexec: state shorter than its size")
)
