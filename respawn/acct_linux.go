//go:build linux

package respawn

import (
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// initialPidNS is the inode of the initial pid namespace
// (PROC_PID_INIT_INO).
const initialPidNS = 0xEFFFFFFC

// capSysPacct is CAP_SYS_PACCT's bit.
const capSysPacct = 20

// acctUnservable says why this process cannot be the accounting daemon,
// or "": it must be in the initial pid namespace (atop reads the host's
// accounting) and hold CAP_SYS_PACCT.
func acctUnservable() string {
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/ns/pid", &st); err == nil && st.Ino != initialPidNS {
		return "not in the initial pid namespace (atop would not see this accounting)"
	}
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "/proc/self/status unreadable: " + err.Error()
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			caps, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err == nil && caps&(1<<capSysPacct) == 0 {
				return "no CAP_SYS_PACCT (run as root)"
			}
			return ""
		}
	}
	return ""
}
