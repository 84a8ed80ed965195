//go:build linux

package control

import (
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// peerCred returns the uid and pid of the process that connected c, as the
// kernel recorded them at connect (SO_PEERCRED).
func peerCred(c *net.UnixConn) (uid uint32, pid int32, err error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0, 0, fmt.Errorf("control: %w", err)
	}
	var cred *unix.Ucred
	var serr error
	if err := raw.Control(func(fd uintptr) {
		cred, serr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return 0, 0, fmt.Errorf("control: %w", err)
	}
	if serr != nil {
		return 0, 0, fmt.Errorf("control: %w", os.NewSyscallError("getsockopt SO_PEERCRED", serr))
	}
	return cred.Uid, cred.Pid, nil
}
