//go:build linux

package test

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A live upgrade while nobody reads respawn's output loses no log line:
// what the old image had not written yet is carried in the snapshot and
// written by the new image first, in order. Reproduces the defect where
// the old image waited (at most 200 ms) for the reader before execve and
// dropped what was still buffered.
func TestUpgradeCarriesUnwrittenLogs(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := unix.FcntlInt(w.Fd(), unix.F_SETPIPE_SZ, 4096); err != nil {
		t.Fatal(err)
	}
	bin := copyBinary(t)
	sock := filepath.Join(t.TempDir(), "ctl.sock")
	cmd := exec.Command(bin, "--log-format=json", "--linger", "--control="+sock, "{", "@web", selfBin, "helper", "sleep", "}")
	cmd.Stdout, cmd.Stderr = w, w
	b := startBare(t, cmd)
	w.Close()
	waitFile(t, sock)
	const rounds = 30 // about 30 kB of log lines: far more than the pipe holds
	for i := 0; i < rounds; i++ {
		ctlOK(t, sock, "stop", "--wait", "web") // ended before the start
		ctlOK(t, sock, "start", "web")
	}
	if !inPipeWrite(b.Pid) {
		t.Log("respawn's writer is not blocked on the pipe: the test proves less")
	}
	ctlOK(t, sock, "upgrade")
	ctlOK(t, sock, "stop", "web")
	lines := make(chan map[string]any, 1024)
	go func() {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				lines <- m
			}
		}
		close(lines)
	}()
	var order []string
	deadline := time.After(20 * time.Second)
	for cremated := 0; cremated < rounds+1; {
		select {
		case m, ok := <-lines:
			if !ok {
				t.Fatalf("output ended after %d lines: %v", len(order), tail(order, 5))
			}
			l := label(m)
			if l == "CREMATED" {
				cremated++
			}
			order = append(order, l)
		case <-deadline:
			t.Fatalf("the last stop never appeared; seen %d lines: %v", len(order), tail(order, 5))
		}
	}
	b.stopWithin(10 * time.Second)
	checkCarried(t, order, rounds)
}

// label names a log line for checkCarried: transitions of web, and the
// upgrade's two ends.
func label(m map[string]any) string {
	switch msg, _ := m["msg"].(string); {
	case msg == "upgrading" || msg == "respawn upgraded":
		return msg
	case (msg == "ALIVE" || msg == "CREMATED") && m["name"] == "web":
		return msg
	case strings.Contains(msg, "dropped"):
		return "dropped"
	}
	return "other"
}

// checkCarried wants, in order: web started, rounds × (CREMATED, ALIVE),
// upgrading, respawn upgraded, and nothing dropped.
func checkCarried(t *testing.T, order []string, rounds int) {
	t.Helper()
	var got []string
	for _, l := range order {
		if l != "other" {
			got = append(got, l)
		}
	}
	want := []string{"ALIVE"}
	for i := 0; i < rounds; i++ {
		want = append(want, "CREMATED", "ALIVE")
	}
	want = append(want, "upgrading", "respawn upgraded", "CREMATED")
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("log lines across the upgrade:\n got %d: %v\nwant %d: %v", len(got), tail(got, 8), len(want), tail(want, 8))
	}
}

func tail(s []string, n int) []string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
