//go:build linux

package test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// --alarm guards the start-up only: it is cleared before the supervisor
// settles and never reaches the servers (a coreutils sleep dies of
// SIGALRM), so servers that outlive it are not disturbed and respawn goes
// on past it.
func TestAlarmClearedInChildren(t *testing.T) {
	file := tempFile(t, "sigs")
	s := begin(t, "--alarm=300ms", "{", "sleep", "300", "}", "{", selfBin, "helper", "signals", file, "}")
	pid := attr(s.waitLog(1, msg("ALIVE", "server", 1)), "pid")
	waitLines(t, file, 1)
	began := time.Now()
	// Nothing is to happen: wait the alarm's time and then some.
	eventually(t, "the alarm's time passed", func() bool { return time.Since(began) > 3*300*time.Millisecond })
	if !alive(pid) || s.exited() {
		t.Fatalf("after the alarm: server alive %v, respawn exited %v", alive(pid), s.exited())
	}
	s.signal(unix.SIGUSR1)
	s.waitLog(1, msg("info dump"))
	if got := lines(file); len(got) != 1 {
		t.Errorf("a server heard %q", got[1:])
	}
	for _, st := range []string{"DEAD", "BURIED", "CREMATED"} {
		if n := s.count(msg(st)); n != 0 {
			t.Errorf("%d %s lines", n, st)
		}
	}
	if code := s.stop(); code != 0 {
		t.Errorf("exit status %d, want 0", code)
	}
}

// Every transition is logged once, with the server's index, name, pid and
// command line, where it came from, and a level that matches.
func TestTransitionsLoggedOnce(t *testing.T) {
	// 3 s: a race-built helper can take more than a second to start on a
	// loaded machine, and must still die sooner than the interval.
	s := begin(t, "--retries=0", "--interval=3s",
		"{", selfBin, "helper", "sleep", "}",
		"{", selfBin, "helper", "exit", "3", "}",
		"{", "@once", selfBin, "helper", "exit", "0", "}")
	s.waitLog(1, msg("BURIED", "server", 2))
	s.waitLog(1, msg("CREMATED", "server", 3))
	s.waitLog(1, msg("ALIVE", "server", 1))
	waitLived(t, s, 1, 3e9)
	killWait(t, s.pidOf(1))
	s.waitLog(1, msg("ALIVE", "server", 1, "from", "DEAD"))
	s.signal(unix.SIGUSR2)
	s.waitLog(2, msg("BURIED", "server", 2))
	if code := s.stop(); code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}

	type step struct{ state, from string }
	want := map[int][]step{
		1: {{"ALIVE", "UNBORN"}, {"DEAD", "ALIVE"}, {"ALIVE", "DEAD"}, {"CREMATED", "ALIVE"}},
		2: {{"ALIVE", "UNBORN"}, {"BURIED", "ALIVE"}, {"ALIVE", "BURIED"}, {"BURIED", "ALIVE"}},
		3: {{"ALIVE", "UNBORN"}, {"CREMATED", "ALIVE"}},
	}
	base := filepath.Base(selfBin) // a server's default name
	names := map[int]string{1: base, 2: base + "-2", 3: "once"}
	cmds := map[int]string{1: helperCmd("sleep"), 2: helperCmd("exit", "3"), 3: helperCmd("exit", "0")}
	levels := map[string]string{"ALIVE": "INFO", "DEAD": "WARN", "BURIED": "WARN", "CREMATED": "INFO"}
	got := map[int][]map[string]any{}
	s.mu.Lock()
	for _, l := range s.logs {
		switch l["msg"] {
		case "UNBORN", "ALIVE", "DEAD", "BURIED", "CREMATED":
			got[attr(l, "server")] = append(got[attr(l, "server")], l)
		}
	}
	s.mu.Unlock()
	if len(got) != len(want) {
		t.Errorf("transitions logged for servers %v, want 1 to 3", keys(got))
	}
	for i, steps := range want {
		lines := got[i]
		if len(lines) != len(steps) {
			t.Errorf("server %d: %d transitions logged, want %d: %v", i, len(lines), len(steps), lines)
			continue
		}
		pid := 0
		for j, st := range steps {
			l := lines[j]
			what := fmt.Sprintf("server %d transition %d (%s)", i, j+1, st.state)
			if l["msg"] != st.state || l["from"] != st.from {
				t.Errorf("%s: %s from %v, want %s from %s", what, l["msg"], l["from"], st.state, st.from)
			}
			if l["name"] != names[i] || l["cmd"] != cmds[i] || l["level"] != levels[st.state] {
				t.Errorf("%s: name %v cmd %v level %v, want %s, %s, %s", what, l["name"], l["cmd"], l["level"], names[i], cmds[i], levels[st.state])
			}
			p := attr(l, "pid")
			switch {
			case p <= 0:
				t.Errorf("%s: pid %v", what, l["pid"])
			case st.state == "ALIVE" && p == pid:
				t.Errorf("%s: the same pid %d as the last process", what, p)
			case st.state != "ALIVE" && p != pid:
				t.Errorf("%s: pid %d, but pid %d was the one alive", what, p, pid)
			}
			pid = p
			if st.state != "ALIVE" && l["exit"] == nil {
				t.Errorf("%s: no exit", what)
			}
		}
	}
}

func keys(m map[int][]map[string]any) []int {
	var out []int
	for k := range m {
		out = append(out, k)
	}
	return out
}
