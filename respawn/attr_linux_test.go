//go:build linux

package respawn

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The thread a server with a umask and a niceness is forked from takes
// them, and no thread of respawn keeps them once the child has started:
// the child has them, respawn never does.
func TestIntegrationFreshThreadLeavesNoTrace(t *testing.T) {
	ownUmask := syscall.Umask(0o22)
	syscall.Umask(ownUmask)
	st := Settings{Umask: 0o077, UmaskSet: true, Nice: 3, NiceSet: true}
	attr := &syscall.ProcAttr{Files: stdio, Sys: &syscall.SysProcAttr{Setpgid: true}}
	for i := 0; i < 5; i++ {
		pid, err := startOnFreshThread("/bin/sleep", []string{"sleep", "10"}, attr, &st)
		if err != nil {
			t.Fatal(err)
		}
		if u := statusField(t, pid, "Umask"); u != "0077" {
			t.Errorf("child umask %s, want 0077", u)
		}
		_ = unix.Kill(pid, unix.SIGKILL)
		var ws unix.WaitStatus
		_, _ = unix.Wait4(pid, &ws, 0, nil)
	}
	want := fmt.Sprintf("%04o", ownUmask)
	deadline := time.Now().Add(5 * time.Second)
	for {
		tainted := taintedThreads(t, want)
		if len(tainted) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("threads %v of respawn kept a server's umask or niceness", tainted)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// taintedThreads lists this process's threads whose umask is not umask or
// whose niceness is not 0.
func taintedThreads(t *testing.T, umask string) []string {
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		dir := filepath.Join("/proc/self/task", e.Name())
		b, err1 := os.ReadFile(dir + "/status")
		s, err2 := os.ReadFile(dir + "/stat")
		if err1 != nil || err2 != nil {
			continue // ended meanwhile
		}
		f := strings.Fields(string(s[strings.LastIndexByte(string(s), ')')+1:]))
		if !strings.Contains(string(b), "Umask:\t"+umask+"\n") || f[19-3] != "0" {
			out = append(out, e.Name())
		}
	}
	return out
}

func statusField(t *testing.T, pid int, field string) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// LimitNames holds the Linux RLIMIT_* numbers.
func TestLimitNamesAreLinuxNumbers(t *testing.T) {
	want := map[string]int{"cpu": unix.RLIMIT_CPU, "fsize": unix.RLIMIT_FSIZE, "data": unix.RLIMIT_DATA,
		"core": unix.RLIMIT_CORE, "nproc": unix.RLIMIT_NPROC, "nofile": unix.RLIMIT_NOFILE,
		"memlock": unix.RLIMIT_MEMLOCK, "as": unix.RLIMIT_AS, "sigpending": unix.RLIMIT_SIGPENDING,
		"msgqueue": unix.RLIMIT_MSGQUEUE, "rtprio": unix.RLIMIT_RTPRIO}
	if len(want) != len(LimitNames) {
		t.Errorf("%d limits, %d checked", len(LimitNames), len(want))
	}
	for name, res := range want {
		if LimitNames[name] != res {
			t.Errorf("%s: %d, want %d", name, LimitNames[name], res)
		}
	}
}

// BenchmarkStart is the cost of starting /bin/true with each way settings
// take, to its exec (reaped before the next): go test -bench Start -run ^$.
func BenchmarkStart(b *testing.B) {
	for _, bc := range []struct {
		name string
		st   Settings
	}{
		{name: "none"},
		{name: "cwd+env", st: Settings{Cwd: "/tmp", Env: []string{"A=1"}}},
		{name: "umask+nice", st: Settings{Umask: 0o27, UmaskSet: true, Nice: 5, NiceSet: true}},
		{name: "nofile", st: Settings{Limits: []Limit{{Resource: unix.RLIMIT_NOFILE, Cur: 4096, Max: 4096}}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := &Server{Argv: []string{"true"}, Set: bc.st}
			for b.Loop() {
				attr := &syscall.ProcAttr{Env: os.Environ(), Files: stdio, Sys: &syscall.SysProcAttr{Setpgid: true}}
				if r.Set.hasSettings() {
					if err := applySettings(r, attr.Env, attr); err != nil {
						b.Fatal(err)
					}
				}
				pid, err := start(r, "/bin/true", attr)
				if err != nil {
					b.Fatal(err)
				}
				var ws unix.WaitStatus
				_, _ = unix.Wait4(pid, &ws, 0, nil)
			}
		})
	}
}
