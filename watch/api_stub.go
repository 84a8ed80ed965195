package watch

// This file is the package's contract while it is being written: every
// function here is replaced by its real body in the file named in its
// comment, and this file is deleted.

import "errors"

var errTODO = errors.New("watch: not implemented")

// --- proc_linux.go ---
