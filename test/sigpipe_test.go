//go:build linux

package test

import (
	"bufio"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// When whoever reads respawn's stderr goes away (respawn ... 2>&1 | head),
// respawn loses its logs but keeps supervising, and still stops cleanly.
func TestLogReaderGone(t *testing.T) {
	cmd := exec.Command(respawnBin, "--control=none", "{", selfBin, "helper", "sleep", "}")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	defer checkNoChildren(t)
	r := bufio.NewReader(stderr)
	for i := 0; i < 2; i++ { // "respawn started", then the server ALIVE
		if _, err := r.ReadString('\n'); err != nil {
			unix.Kill(pid, unix.SIGTERM)
			cmd.Wait()
			t.Fatal(err)
		}
	}
	stderr.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// Two dumps: writes to the closed pipe, which raise SIGPIPE.
	unix.Kill(pid, unix.SIGUSR1)
	unix.Kill(pid, unix.SIGUSR1)
	select {
	case err := <-done:
		t.Fatalf("respawn ended (%v) when its log reader went away", err)
	case <-time.After(300 * time.Millisecond):
		// Still there after the writes (not a timing claim: a death by
		// SIGPIPE would have come at once).
	}
	unix.Kill(pid, unix.SIGTERM)
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("respawn ended with %v after SIGTERM, want exit 0", err)
		}
	case <-time.After(10 * time.Second):
		unix.Kill(-pid, unix.SIGKILL)
		<-done
		t.Fatal("respawn did not stop after SIGTERM")
	}
}
