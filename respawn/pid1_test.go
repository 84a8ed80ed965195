package respawn

import (
	"os"
	"testing"
)

func TestParseOnExit(t *testing.T) {
	for _, h := range []OnExit{PowerOff, Reboot, Halt} {
		got, err := ParseOnExit(h.String())
		if err != nil || got != h {
			t.Errorf("ParseOnExit(%q) = %v, %v; want %v", h.String(), got, err, h)
		}
	}
	for _, bad := range []string{"", "off", "Reboot", "poweroff "} {
		if _, err := ParseOnExit(bad); err == nil {
			t.Errorf("ParseOnExit(%q) took it", bad)
		}
	}
}

// TestMachineInitNotPid1 checks that a process that is not PID 1 is not
// the machine's init: End must exit there, never reboot the test machine.
func TestMachineInitNotPid1(t *testing.T) {
	if os.Getpid() == 1 {
		t.Fatal("the tests run as PID 1")
	}
	if MachineInit() {
		t.Fatal("MachineInit is true in a process that is not PID 1")
	}
}
