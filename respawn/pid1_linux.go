//go:build linux

package respawn

import (
	"errors"
	"log/slog"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// MachineInit reports whether this process is the PID 1 of the machine:
// pid 1 of the initial pid namespace. Without /proc (an initramfs's init
// before it mounts one) a PID 1 cannot tell, and takes itself for the
// machine's: exiting there would panic the kernel.
func MachineInit() bool {
	if os.Getpid() != 1 {
		return false
	}
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/ns/pid", &st); err == nil {
		return st.Ino == initialPidNS
	}
	return true
}

// End ends the process with status code: it exits, unless this is the
// machine's PID 1 (see MachineInit), which never returns from End. It
// logs what it does (then calls flush, if set, to see the line written),
// syncs the file systems and calls reboot(2) as how says; if the kernel
// refuses, it logs why and reaps orphans forever.
func End(code int, how OnExit, log *slog.Logger, flush func()) {
	if !MachineInit() {
		os.Exit(code)
	}
	if how < 0 || int(how) >= len(endLines) {
		how = PowerOff
	}
	log.Info(endLines[how], "status", code)
	flushed(flush)
	unix.Sync()
	err := unix.Reboot(rebootCmds[how])
	log.Error("respawn: the kernel refused to end the machine: staying up", "err", os.NewSyscallError("reboot", err))
	flushed(flush)
	reapForever()
}

func flushed(flush func()) {
	if flush != nil {
		flush()
	}
}

var rebootCmds = [...]int{
	PowerOff: unix.LINUX_REBOOT_CMD_POWER_OFF,
	Reboot:   unix.LINUX_REBOOT_CMD_RESTART,
	Halt:     unix.LINUX_REBOOT_CMD_HALT,
}

// reapForever collects whatever the kernel gives PID 1 to reap, and
// never returns: a machine whose init has nothing left to do.
func reapForever() {
	for {
		var ws unix.WaitStatus
		_, err := unix.Wait4(-1, &ws, 0, nil)
		if errors.Is(err, unix.ECHILD) {
			time.Sleep(time.Second) // no child now; an orphan may come
		}
	}
}
