//go:build linux

package respawn

import (
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// ownDescriptor finds a descriptor of this process open on the device at
// path, or -1. A watchdog device opens once: after a live upgrade whose
// snapshot could not be read (Recover), the old image's descriptor is
// still open here, unnamed, and only it can keep the device from firing.
func ownDescriptor(path string) int {
	var want unix.Stat_t
	if err := unix.Stat(path, &want); err != nil || want.Mode&unix.S_IFMT != unix.S_IFCHR {
		return -1
	}
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		var st unix.Stat_t
		if err != nil || unix.Fstat(fd, &st) != nil {
			continue
		}
		if st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == want.Rdev {
			return fd
		}
	}
	return -1
}
