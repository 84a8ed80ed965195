//go:build unix

package respawn

import "golang.org/x/sys/unix"

// monotonicNs is CLOCK_MONOTONIC in nanoseconds: system-wide, so that it
// means the same thing after an execve of the supervisor.
func monotonicNs() int64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}

func realtimeNs() int64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_REALTIME, &ts)
	return ts.Nano()
}

func unixSignalName(sig unix.Signal) string { return unix.SignalName(sig) }
