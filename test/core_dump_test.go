//go:build linux

package test

import (
	"fmt"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// With --log-format=json, SIGUSR1 writes the info dump as one JSON line:
// the supervisor's figures and, per server, its index, pid, state in
// words, start time, restarts, last exit and argv.
func TestInfoDumpJSON(t *testing.T) {
	before := time.Now()
	s := begin(t, "--retries=0", "--interval=3s", // a race-built helper that exits at once is buried even on a loaded machine
		"{", "@web", selfBin, "helper", "sleep", "}",
		"{", selfBin, "helper", "exit", "3", "}",
		"{", selfBin, "helper", "exit", "0", "}")
	s.waitLog(1, msg("BURIED", "server", 2))
	s.waitLog(1, msg("CREMATED", "server", 3))
	first := attr(s.waitLog(1, msg("ALIVE", "server", 1)), "pid")
	waitLived(t, s, 1, 3e9)
	killWait(t, first)
	pid := attr(s.waitLog(1, msg("ALIVE", "server", 1, "from", "DEAD")), "pid")

	s.signal(unix.SIGUSR1)
	d := s.waitLog(1, msg("info dump"))
	if attr(d, "pid") != s.Pid || d["interval"] != "3s" {
		t.Errorf("dump pid %v interval %v, want %d and 3s", d["pid"], d["interval"], s.Pid)
	}
	checkTime(t, "time", d["time"], before)
	checkTime(t, "started_at", d["started_at"], before)
	wantCounts := map[string]any{"alive": 1.0, "buried": 1.0, "cremated": 1.0}
	if !reflect.DeepEqual(d["counts"], wantCounts) {
		t.Errorf("counts %v, want %v", d["counts"], wantCounts)
	}
	servers, _ := d["servers"].([]any)
	if len(servers) != 3 {
		t.Fatalf("%d servers in the dump, want 3: %v", len(servers), d)
	}
	base := filepath.Base(selfBin) // a server's default name
	want := []struct {
		index, pid, restarts int
		name, state, last    string
		argv                 []any
	}{
		{1, pid, 1, "web", "ALIVE", "signal SIGKILL", []any{selfBin, "helper", "sleep"}},
		{2, 0, 0, base, "BURIED", "exit 3", []any{selfBin, "helper", "exit", "3"}},
		{3, 0, 0, base + "-2", "CREMATED", "exit 0", []any{selfBin, "helper", "exit", "0"}},
	}
	for i, w := range want {
		in := servers[i].(map[string]any)
		if attr(in, "index") != w.index || attr(in, "pid") != w.pid || attr(in, "restarts") != w.restarts ||
			in["name"] != w.name || in["state"] != w.state || in["last_exit"] != w.last || !reflect.DeepEqual(in["argv"], w.argv) {
			t.Errorf("server %d in the dump: %v\nwant %+v", i+1, in, w)
		}
		checkTime(t, fmt.Sprintf("server %d started_at", i+1), in["started_at"], before)
	}
	if code := s.stop(); code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
}

func checkTime(t *testing.T, what string, v any, after time.Time) {
	t.Helper()
	str, _ := v.(string)
	tm, err := time.Parse(time.RFC3339Nano, str)
	if err != nil || tm.Before(after.Add(-time.Second)) {
		t.Errorf("%s = %v, want an RFC 3339 time since the test began (%v)", what, v, err)
	}
}

// Without --log-format, SIGUSR1 writes the info dump as text.
func TestInfoDumpText(t *testing.T) {
	s := beginText(t, "--retries=0", "--interval=1h",
		"{", "@web", selfBin, "helper", "sleep", "}",
		"{", selfBin, "helper", "exit", "3", "}")
	s.waitText(regexp.MustCompile(`msg=BURIED server=2 .*exit="exit 3"`))
	line := s.waitText(regexp.MustCompile(`msg=ALIVE server=1 name=web pid=[1-9]`))
	pid, _ := strconv.Atoi(regexp.MustCompile(`pid=(\d+)`).FindStringSubmatch(line)[1])

	s.signal(unix.SIGUSR1)
	q := regexp.QuoteMeta
	for _, re := range []string{
		`^respawn info dump at \d{4}-\d\d-\d\dT`,
		`^(version: \S+  )?pid: ` + strconv.Itoa(s.Pid) + `  started: \d{4}-.*  interval: 1h0m0s$`,
		`^servers: 2  alive: 1  dead: 0  buried: 1  cremated: 0  unborn: 0$`,
		`^  \[1\] web pid=` + strconv.Itoa(pid) + ` state=ALIVE started=\d{4}-\S+ restarts=0 last="-" cmd: ` + q(helperCmd("sleep")) + `$`,
		`^  \[2\] ` + q(filepath.Base(selfBin)) + ` pid=0 state=BURIED started=\d{4}-\S+ restarts=0 last="exit 3" cmd: ` + q(helperCmd("exit", "3")) + `$`,
		`^end of info dump$`,
	} {
		s.waitText(regexp.MustCompile(re))
	}
	if code := s.stop(); code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	if !gone(pid) && alive(pid) {
		t.Errorf("server pid %d outlived respawn", pid)
	}
}
