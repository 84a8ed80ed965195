//go:build linux

package test

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
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

// TestSnapshotOutputNotHandedOver: a snapshot whose server names, as the
// read ends of its captured output, descriptors that were not open at the
// exec (a hand-made or defective one) must not have the new image take
// whatever it opened under those numbers since (its control socket) for
// its pipes: capture refuses what is not a pipe and leaves it open, and
// the control task stays up and answers.
func TestSnapshotOutputNotHandedOver(t *testing.T) {
	for fd := marshal.MinFD; fd <= 10; fd++ {
		t.Run(fmt.Sprint(fd), func(t *testing.T) {
			rec := marshal.Record{Index: 1, Name: "gone", Argv: []string{"/bin/true"}, State: 4 /* CREMATED */, Started: true, Out: []int{fd, fd + 10}}
			b, err := marshal.Encode(&marshal.Snapshot{Generation: 1, Records: []marshal.Record{rec}})
			if err != nil {
				t.Fatal(err)
			}
			state, err := reexec.SealedState(b)
			if err != nil {
				t.Fatal(err)
			}
			sock := tempFile(t, "ctl.sock")
			cmd := exec.Command(respawnBin, "--log-format=json", "--control="+sock, "--linger", "--re-exec", "--state-fd=3", "{", "@gone", "/bin/true", "}")
			f := os.NewFile(uintptr(state), "state")
			defer f.Close()
			cmd.ExtraFiles = []*os.File{f}
			s := launch(t, cmd)
			t.Cleanup(s.cleanup)
			s.waitLog(1, msg("respawn upgraded"))
			out := ctlOK(t, sock, "list")
			if !strings.Contains(out, "gone") || s.count(msg("BURIED")) != 0 {
				t.Errorf("list after the upgrade:\n%s", out)
			}
			s.stop()
		})
	}
}
