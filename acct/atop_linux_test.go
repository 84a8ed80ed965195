//go:build linux

package acct

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestIntegrationAtop checks the daemon against the real client, Debian's
// atop, which reads DefaultDir (pacctdir can only be changed in
// /etc/atoprc): two atop at once (started one after the other), while 250 processes end (so that the
// shadow files, 100 records each here, rotate under them) and then one
// named uniquely exits with status 3. Both atop show it as ended (E) with
// exit code 3, having registered on the public semaphore. Once both are
// gone (their SEM_UNDO gives the count back), the next record removes
// every shadow file and the sequence starts at 0 again.
func TestIntegrationAtop(t *testing.T) {
	d := startDaemon(t, Config{Dir: DefaultDir, MaxRecs: 100, GCInterval: 200 * time.Millisecond})
	runDaemon(t, d)
	name := fmt.Sprintf("acctE3x%d", os.Getpid()%100000)
	shell := filepath.Join(t.TempDir(), name)
	copyFile(t, "/bin/sh", shell)
	var most atomic.Int64
	stop := watchClients(d, &most)
	outs := []*bytes.Buffer{{}, {}}
	atops := make([]*exec.Cmd, len(outs))
	for i := range atops {
		atops[i] = exec.Command("atop", "-P", "PRG", "1", "5")
		atops[i].Stdout, atops[i].Stderr = outs[i], outs[i]
		if err := atops[i].Start(); err != nil {
			t.Fatalf("atop: %v", err)
		}
		defer atops[i].Process.Kill()
		// atop registers without waiting for the lock, which the one
		// before holds until its first record is copied: two at once
		// may find it taken, and one would switch accounting on itself.
		waitFor(t, "atop registered", func() bool { return most.Load() == int64(i+1) && lockFree() })
	}
	if err := exec.Command("sh", "-c", "i=0; while [ $i -lt 250 ]; do /bin/true; i=$((i+1)); done").Run(); err != nil {
		t.Fatal(err)
	}
	pid := ended(t, exec.Command(shell, "-c", "exit 3"), nil)
	waitFor(t, "the exit copied", func() bool { return countPid(shadowRecords(t, DefaultDir), pid) == 1 })
	if s := d.Stats(); s.Seq < 2 {
		t.Errorf("shadow file %d, want at least 2 after 250 processes", s.Seq)
	}
	for i, a := range atops {
		a.Wait()
		if !showsExit(outs[i].String(), pid, name, "3") {
			t.Errorf("atop %d does not show pid %d (%s) ended with 3:\n%s", i, pid, name, outs[i])
		}
	}
	stop()
	waitFor(t, "no client left", func() bool { return d.Stats().Clients == 0 })
	exit3(t)
	waitFor(t, "the shadow files removed", func() bool {
		files, _ := filepath.Glob(filepath.Join(DefaultDir, ShadowDirName, "*.paf"))
		return len(files) == 1 && readCurrent(t, DefaultDir) == "0/100" && d.Stats().Seq == 0
	})
}

// showsExit reports whether atop's PRG output has pid named name, ended
// (state E) with the exit code code. A PRG line is: PRG host epoch date
// time interval PID (name) state ruid rgid tgid threads exitcode ...
func showsExit(out string, pid int, name, code string) bool {
	for _, line := range strings.Split(out, "\n") {
		head := fmt.Sprintf(" %d (%s) ", pid, name)
		i := strings.Index(line, head)
		if !strings.HasPrefix(line, "PRG ") || i < 0 {
			continue
		}
		f := strings.Fields(line[i+len(head):])
		if len(f) > 5 && f[0] == "E" && f[5] == code {
			return true
		}
	}
	return false
}

// watchClients records the most clients d has seen, every 10 ms, until
// the function it returns is called.
func watchClients(d *Daemon, most *atomic.Int64) func() {
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(10 * time.Millisecond):
			}
			if n := int64(d.Stats().Clients); n > most.Load() {
				most.Store(n)
			}
		}
	}()
	return func() { close(done) }
}

// lockFree reports whether the public set's lock (semaphore 1) is free.
func lockFree() bool {
	pub, err := semGet(PublicKey, 0, 0)
	if err != nil {
		return false
	}
	v, err := semCtl(pub, 1, getVal, 0)
	return err == nil && v == 1
}

// copyFile copies the program from to to (0755).
func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err == nil {
		err = os.WriteFile(to, b, 0o755)
	}
	if err != nil {
		t.Fatal(err)
	}
}
