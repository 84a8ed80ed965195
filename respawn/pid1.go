package respawn

import "fmt"

// OnExit is what respawn does at its end when it is the PID 1 of a
// machine (of the initial pid namespace), where exiting would panic the
// kernel ("Attempted to kill init"): it syncs, then asks the kernel to
// power off, reboot or halt. Elsewhere, as a container's PID 1 or not PID
// 1 at all, respawn exits with its status and OnExit has no effect.
type OnExit int

const (
	PowerOff OnExit = iota // the default
	Reboot
	Halt
)

var onExitNames = [...]string{PowerOff: "poweroff", Reboot: "reboot", Halt: "halt"}

func (h OnExit) String() string {
	if h < 0 || int(h) >= len(onExitNames) {
		return fmt.Sprintf("OnExit(%d)", int(h))
	}
	return onExitNames[h]
}

// ParseOnExit reads poweroff, reboot or halt.
func ParseOnExit(s string) (OnExit, error) {
	for h, name := range onExitNames {
		if s == name {
			return OnExit(h), nil
		}
	}
	return PowerOff, fmt.Errorf("respawn: on exit %q: want poweroff, reboot or halt", s)
}

// endLines are the line logged before each end of a machine.
var endLines = [...]string{PowerOff: "respawn: powering off", Reboot: "respawn: rebooting", Halt: "respawn: halting"}
