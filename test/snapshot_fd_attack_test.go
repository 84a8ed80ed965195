//go:build linux

package test

import (
	"fmt"
	"os"
	"os/exec"
	"testing"

	"respawn/marshal"
	"respawn/reexec"
)

// A snapshot given by hand (--re-exec --state-fd) that names, as the
// sd_notify socket, a descriptor number the old image never handed over:
// respawn opened its control socket under that number, then refused it
// as no datagram socket and closed it, which buried the control task
// ("accept4: bad file descriptor"). Every number is tried; a descriptor
// not inherited must never be adopted.
func TestSnapshotRoleNotHandedOver(t *testing.T) {
	for fd := marshal.MinFD; fd <= 10; fd++ {
		t.Run(fmt.Sprint(fd), func(t *testing.T) {
			b, err := marshal.Encode(&marshal.Snapshot{Generation: 1, FDs: []marshal.FD{{Role: "notify", FD: fd}}})
			if err != nil {
				t.Fatal(err)
			}
			state, err := reexec.SealedState(b)
			if err != nil {
				t.Fatal(err)
			}
			sock := tempFile(t, "ctl.sock")
			cmd := exec.Command(respawnBin, "--log-format=json", "--control="+sock, "--re-exec", "--state-fd=3",
				"--heartbeat-dir="+heartbeatDir(t))
			f := os.NewFile(uintptr(state), "state")
			defer f.Close()
			cmd.ExtraFiles = []*os.File{f}
			s := launch(t, cmd)
			t.Cleanup(s.cleanup)
			s.waitLog(1, msg("respawn upgraded"))
			s.waitLog(1, msg("ALIVE", "task", "heartbeat"))
			out := ctlOK(t, sock, "list")
			if c := s.count(msg("BURIED")); c != 0 {
				t.Errorf("%d tasks buried; status:\n%s", c, out)
			}
			s.stop()
		})
	}
}
