//go:build linux

package respawn

import (
	"bufio"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// keptIgnored are the signals routeIgnored leaves ignored when respawn
// inherited them so: with a handler instead, a background respawn writing
// to (or reading from) a terminal with TOSTOP would be sent SIGTTOU (or
// SIGTTIN) again on every restart of the write, for ever. Signals 32 and
// 33 belong to the C library's threads and are never the runtime's: see
// defaultUnrouted.
var keptIgnored = map[syscall.Signal]bool{unix.SIGTTIN: true, unix.SIGTTOU: true, 32: true, 33: true}

// unroutable are the signals the Go runtime never takes a handler for in
// a program without cgo: an inherited SIG_IGN on one would reach every
// server. GNU make, for one, starts its commands with 32 and 33 ignored.
var unroutable = []syscall.Signal{32}

// defaultUnrouted sets each unroutable signal that respawn inherited as
// ignored back to SIG_DFL, so that servers start with it default. Nothing
// sends those signals from outside a process (the C library uses them
// between its own threads), so respawn loses nothing by not ignoring them.
func defaultUnrouted() {
	ign := ignoredMask()
	for _, sig := range unroutable {
		if ign&(1<<(sig-1)) == 0 {
			continue
		}
		var act kernelSigaction // SIG_DFL, no flags, empty mask
		_, _, _ = unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&act)), 0, 8, 0, 0)
	}
}

// kernelSigaction is struct sigaction as rt_sigaction(2) takes it on the
// architectures with a restorer field (amd64, arm64, 386).
type kernelSigaction struct {
	handler, flags, restorer uintptr
	mask                     uint64
}

// routeIgnored gives a handler to every signal respawn inherited as
// ignored (nohup, a parent that ignores SIGPIPE, an upgrade's exec window)
// and the Go runtime does not handle yet, so that servers start with the
// default disposition: a fork keeps SIG_IGN across execve, while the
// runtime resets its own handlers to SIG_DFL in the child. The signals go
// to a channel nobody reads, so respawn itself still ignores them. It is
// called once signal.Notify has routed the handled signals.
func routeIgnored() {
	ign := ignoredMask()
	var sigs []os.Signal
	for sig := syscall.Signal(1); sig <= 64; sig++ {
		if ign&(1<<(sig-1)) != 0 && !keptIgnored[sig] {
			sigs = append(sigs, sig)
		}
	}
	if len(sigs) > 0 {
		signal.Notify(make(chan os.Signal, 1), sigs...)
	}
}

// ignoredMask is the SigIgn line of /proc/self/status, or 0.
func ignoredMask() uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "SigIgn:"); ok {
			m, _ := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return m
		}
	}
	return 0
}
