//go:build linux

package respawn

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A program that cannot be executed is buried by the start itself, with
// the exec error, and never gets a pid.
func TestIntegrationSpawnFailureBuries(t *testing.T) {
	dir := t.TempDir()
	noexec := filepath.Join(dir, "noexec")
	if err := os.WriteFile(noexec, []byte("#!/bin/sh\nexit 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(dir, "garbage")
	if err := os.WriteFile(garbage, []byte("\x01\x02 not a program\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		argv []string
		err  string
	}{
		{name: "missing path", argv: []string{filepath.Join(dir, "missing")}, err: "no such file or directory"},
		{name: "not in PATH", argv: []string{"respawn-test-no-such-program"}, err: "executable file not found in $PATH"},
		{name: "not executable", argv: []string{noexec}, err: "permission denied"},
		{name: "a directory", argv: []string{dir}, err: "cannot execute"},
		{name: "exec format error", argv: []string{garbage, "x"}, err: "exec format error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(quietConfig(), []Spec{{Argv: tt.argv}})
			sub := s.Subscribe(4)
			r := s.recs[0]
			if !s.fire(r, evStart, Exit{}) {
				t.Fatal("start ignored")
			}
			if r.State != Buried || r.Pid != 0 || r.Started {
				t.Fatalf("state %v pid %d started %v, want BURIED, 0, false", r.State, r.Pid, r.Started)
			}
			if !strings.Contains(r.Last.Err, tt.err) || !strings.Contains(r.Last.Err, tt.argv[0]) {
				t.Errorf("last exit %q, want the error %q naming %s", r.Last.Err, tt.err, tt.argv[0])
			}
			if tr := <-sub.C; tr.From != Unborn || tr.To != Buried || tr.Pid != 0 {
				t.Errorf("transition %+v, want UNBORN to BURIED without a pid", tr)
			}
			if len(sub.C) != 0 {
				t.Errorf("%d more transitions", len(sub.C))
			}
		})
	}
}

// spawned starts argv as a server and returns its record; the cleanup
// kills its process group and reaps it.
func spawned(t *testing.T, s *Supervisor, argv ...string) *Server {
	t.Helper()
	s.add(&Server{Argv: argv})
	r := s.recs[len(s.recs)-1]
	if !s.fire(r, evStart, Exit{}) || r.State != Alive || r.Pid <= 0 {
		t.Fatalf("start of %q: state %v pid %d, last %v", argv, r.State, r.Pid, r.Last)
	}
	pid := r.Pid
	t.Cleanup(func() {
		_ = unix.Kill(-pid, unix.SIGKILL)
		var ws unix.WaitStatus
		_, _ = unix.Wait4(pid, &ws, 0, nil)
	})
	return r
}

// reapUntil calls the reaper until r has left ALIVE.
func reapUntil(t *testing.T, s *Supervisor, r *Server) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for r.State == Alive {
		if time.Now().After(deadline) {
			t.Fatalf("%s still ALIVE", r.Name)
		}
		s.reap()
		time.Sleep(time.Millisecond)
	}
}

// A server runs in a process group of its own, and the reaper classifies
// its death.
func TestIntegrationSpawnAndReap(t *testing.T) {
	tests := []struct {
		name string
		argv []string
		kill syscall.Signal
		want State
		last string
	}{
		{name: "killed early", argv: []string{"sleep", "60"}, kill: syscall.SIGKILL, want: Buried, last: "signal SIGKILL"},
		{name: "terminated", argv: []string{"sleep", "60"}, kill: syscall.SIGTERM, want: Cremated, last: "signal SIGTERM"},
		{name: "exit 0", argv: []string{"true"}, want: Cremated, last: "exit 0"},
		{name: "exit 1 early", argv: []string{"false"}, want: Buried, last: "exit 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(quietConfig(), nil)
			r := spawned(t, s, tt.argv...)
			if pg, err := unix.Getpgid(r.Pid); err == nil && pg != r.Pid {
				t.Errorf("process group %d, want its own (%d)", pg, r.Pid)
			}
			if r.Pgid != r.Pid {
				t.Errorf("recorded process group %d, want %d", r.Pgid, r.Pid)
			}
			if tt.kill != 0 {
				if err := unix.Kill(r.Pid, tt.kill); err != nil {
					t.Fatal(err)
				}
			}
			reapUntil(t, s, r)
			if r.State != tt.want || r.Last.String() != tt.last || r.Pid != 0 {
				t.Errorf("state %v last %q pid %d, want %v %q 0", r.State, r.Last, r.Pid, tt.want, tt.last)
			}
		})
	}
}

// --initial-spawn is what the first start gets; every later start gets
// --respawn, and the log of each start shows the argv that process got.
func TestIntegrationInitialSpawn(t *testing.T) {
	var logs bytes.Buffer
	cfg := quietConfig()
	cfg.Interval = time.Nanosecond // every death is late
	cfg.Log = slog.New(slog.NewJSONHandler(&logs, nil))
	s := New(cfg, nil)
	r := spawned(t, s, "sh", "-c", "exec sleep 60", "sh", "--initial-spawn", "x")
	pids := []int{r.Pid}
	for i := 1; i <= 2; i++ {
		pid := r.Pid
		r.StartNs -= int64(paceFree) // a life long enough to respawn at once
		if err := unix.Kill(pid, unix.SIGKILL); err != nil {
			t.Fatal(err)
		}
		for r.Pid == pid {
			s.reap()
			time.Sleep(time.Millisecond)
		}
		if r.State != Alive || r.Restarts != i {
			t.Fatalf("after kill %d: state %v restarts %d", i, r.State, r.Restarts)
		}
		pid = r.Pid
		pids = append(pids, pid)
		t.Cleanup(func() { _ = unix.Kill(-pid, unix.SIGKILL); _, _ = unix.Wait4(pid, nil, 0, nil) })
	}
	s.flushLogs() // as the event loop does after each event
	var starts []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["msg"] == "ALIVE" {
			starts = append(starts, m)
		}
	}
	if len(starts) != 3 {
		t.Fatalf("%d ALIVE lines, want 3:\n%s", len(starts), logs.String())
	}
	for i, m := range starts {
		want := "sh -c 'exec sleep 60' sh --respawn x"
		if i == 0 {
			want = "sh -c 'exec sleep 60' sh --initial-spawn x"
		}
		if m["cmd"] != want || m["pid"] != float64(pids[i]) {
			t.Errorf("start %d logged pid %v cmd %q, want pid %d cmd %q", i+1, m["pid"], m["cmd"], pids[i], want)
		}
	}
	if Quote(r.Argv) != "sh -c 'exec sleep 60' sh --respawn x" {
		t.Errorf("argv for the next start %q", r.Argv)
	}
}

// BenchmarkForkExec compares a spawn from a thread with its signal mask
// cleared (forkExec) with a plain syscall.ForkExec: the difference is two
// rt_sigprocmask calls and a thread lock.
func BenchmarkForkExec(b *testing.B) {
	attr := &syscall.ProcAttr{Files: []uintptr{0, 1, 2}}
	for _, bb := range []struct {
		name string
		fork func(string, []string, *syscall.ProcAttr) (int, error)
	}{{"plain", syscall.ForkExec}, {"clean mask", forkExec}} {
		b.Run(bb.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				pid, err := bb.fork("/bin/true", []string{"true"}, attr)
				if err != nil {
					b.Fatal(err)
				}
				var ws unix.WaitStatus
				unix.Wait4(pid, &ws, 0, nil)
			}
		})
	}
}

// BenchmarkCleanMask is what forkExec adds to a spawn, without the spawn.
func BenchmarkCleanMask(b *testing.B) {
	for i := 0; i < b.N; i++ {
		runtime.LockOSThread()
		var empty, old unix.Sigset_t
		unix.PthreadSigmask(unix.SIG_SETMASK, &empty, &old)
		unix.PthreadSigmask(unix.SIG_SETMASK, &old, nil)
		runtime.UnlockOSThread()
	}
}
