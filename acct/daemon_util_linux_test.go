//go:build linux

package acct

import (
	"bytes"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// startDaemon takes the accounting lock and starts a daemon with cfg (in
// a new directory when cfg.Dir is empty); the test's end stops it and
// switches accounting off, whatever happened.
func startDaemon(t *testing.T, cfg Config) *Daemon {
	t.Helper()
	acctTestLock(t)
	if other := otherAccounting(t); other != "" {
		t.Fatalf("acct: another process accounting is active (%s)", other)
	}
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	t.Cleanup(func() { Off() })
	d, err := Start(cfg)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		if err := d.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return d
}

// runDaemon runs d as the acct task would, until the test's end: Pump
// with its retries in a loop, Tick every 100 ms.
func runDaemon(t *testing.T, d *Daemon) {
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-tick.C:
				d.Tick(now)
			default:
			}
			if _, err := d.Pump(true); err != nil {
				t.Errorf("pump: %v", err)
				return
			}
		}
	}()
	t.Cleanup(func() { close(done); <-stopped })
}

// addClient registers as an atop client does (public semaphore 0 lowered
// with SEM_UNDO) and returns the function that leaves.
func addClient(t *testing.T) func() {
	t.Helper()
	pub, err := semGet(PublicKey, 0, 0)
	if err == nil {
		err = semOp(pub, sembuf{0, -1, semUndo})
	}
	if err != nil {
		t.Fatalf("register a client: %v", err)
	}
	var once sync.Once
	leave := func() { once.Do(func() { semOp(pub, sembuf{0, 1, semUndo}) }) }
	t.Cleanup(leave)
	return leave
}

// shadowRecords parses the shadow files of dir, in order of sequence.
func shadowRecords(t *testing.T, dir string) []Record {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, ShadowDirName, "*.paf"))
	var recs []Record
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var rest []byte
		recs, rest, err = ParseAll(recs, b)
		if err != nil || len(rest) != 0 {
			t.Fatalf("%s: %d bytes left, %v", f, len(rest), err)
		}
	}
	return recs
}

// countPid counts the records of pid, a child of the test: pids wrap
// around (pid_max is 32768 here), and on a busy machine another process
// may end with the same pid during a test.
func countPid(recs []Record, pid int) int {
	n := 0
	for _, r := range recs {
		if r.Pid == uint32(pid) && r.PPid == uint32(os.Getpid()) {
			n++
		}
	}
	return n
}

// waitFor polls cond every 20 ms until it holds or 10 s have passed.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not within 10 s: %s", what)
		}
	}
}

// exit3 runs a shell that exits with status 3 and returns its pid.
func exit3(t *testing.T) int {
	t.Helper()
	return ended(t, exec.Command("sh", "-c", "exit 3"), nil)
}

// readCurrent returns the text of dir's current file.
func readCurrent(t *testing.T, dir string) string {
	b, _ := os.ReadFile(filepath.Join(dir, ShadowDirName, CurrentName))
	return string(b)
}

// privateValue returns the private semaphore's value, -1 with no set.
func privateValue() int {
	v, ok, err := semRead(PrivateKey, 0)
	if !ok || err != nil {
		return -1
	}
	return v
}

// logBuffer is a logger's output, safe to read while it logs.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// count returns how many lines hold s.
func (l *logBuffer) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.b.String(), s)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// newLog returns a logger writing to a buffer.
func newLog() (*slog.Logger, *logBuffer) {
	buf := &logBuffer{}
	return slog.New(slog.NewTextHandler(buf, nil)), buf
}
