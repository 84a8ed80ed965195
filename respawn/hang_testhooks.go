//go:build testhooks

package respawn

import (
	"os"
	"time"
)

// HangFile is the test hook of a build with the tag testhooks: SIGUSR1
// while this file exists hangs the event loop for good, as a deadlock
// would, so that the tests see the watchdog fire. (SIGSTOP cannot stand
// in: the kernel ignores it when it is sent to PID 1 from inside.)
const HangFile = "/run/respawn-test-hang"

func init() {
	testHang = func(s *Supervisor) {
		if _, err := os.Stat(HangFile); err != nil {
			return
		}
		s.log.Warn("test hook: the event loop hangs")
		s.flushLogs()
		for {
			time.Sleep(time.Hour)
		}
	}
}
