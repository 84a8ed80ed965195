//go:build linux

package acct

import (
	"os"

	"golang.org/x/sys/unix"
)

// On switches the kernel's process accounting on, appending records to the
// existing regular file at path. It needs CAP_SYS_PACCT and silently takes
// over any accounting already on in this pid namespace.
func On(path string) error {
	if path == "" {
		return os.NewSyscallError("acct", unix.ENOENT)
	}
	return os.NewSyscallError("acct", unix.Acct(path))
}

// Off switches the kernel's process accounting off; it succeeds when it was
// off already. unix.Acct("") would not do: it passes a pointer to an empty
// name, which fails with ENOENT and leaves the accounting on.
func Off() error {
	_, _, errno := unix.Syscall(unix.SYS_ACCT, 0, 0, 0)
	if errno != 0 {
		return os.NewSyscallError("acct", errno)
	}
	return nil
}
