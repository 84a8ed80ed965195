package respawn

import "strconv"

// LimitNames are the resource limit settings (--nofile=...), by the name
// setrlimit(2) gives them, with their Linux RLIMIT_* numbers. RLIMIT_STACK
// is left out: set after the exec, as limits are here, it would not shape
// the main stack the kernel has already laid out.
var LimitNames = map[string]int{
	"cpu":        0,  // seconds of CPU time
	"fsize":      1,  // bytes of a file written
	"data":       2,  // bytes of data segment and heap
	"core":       4,  // bytes of a core dump
	"nproc":      6,  // processes of the user
	"nofile":     7,  // open file descriptors
	"memlock":    8,  // bytes locked in memory
	"as":         9,  // bytes of address space
	"sigpending": 11, // queued signals
	"msgqueue":   12, // bytes in POSIX message queues
	"rtprio":     14, // real-time priority ceiling
}

func limitName(res int) string {
	for name, r := range LimitNames {
		if r == res {
			return name
		}
	}
	return "rlimit " + strconv.Itoa(res)
}
