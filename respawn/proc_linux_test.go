//go:build linux

package respawn

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// tail is fields 4 to 22 and a few more of a real /proc/PID/stat line
// after "S": ppid 1, pgrp 42, session 42, ..., starttime 987654.
const statTail = "1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 200 18446744073709551615"

func TestParseStat(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Stat
		err  bool
	}{
		{name: "plain", in: "42 (sleep) S " + statTail, want: Stat{State: 'S', PPid: 1, Pgrp: 42, StartTime: 987654}},
		{name: "comm with spaces", in: "42 (my server) R " + statTail, want: Stat{State: 'R', PPid: 1, Pgrp: 42, StartTime: 987654}},
		{name: "comm with ')' and spaces", in: "42 (a) b) S 9 (c) Z " + statTail, want: Stat{State: 'Z', PPid: 1, Pgrp: 42, StartTime: 987654}},
		{name: "comm that is ') '", in: "42 () ) T " + statTail, want: Stat{State: 'T', PPid: 1, Pgrp: 42, StartTime: 987654}},
		{name: "zombie", in: "7 (x) Z " + statTail + "\n", want: Stat{State: 'Z', PPid: 1, Pgrp: 42, StartTime: 987654}},
		{name: "exactly up to starttime", in: "7 (x) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654", want: Stat{State: 'S', PPid: 1, Pgrp: 42, StartTime: 987654}},
		{name: "one field short", in: "7 (x) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0", err: true},
		{name: "empty", in: "", err: true},
		{name: "no parenthesis", in: "42 sleep S " + statTail, err: true},
		{name: "nothing after ')'", in: "42 (sleep)", err: true},
		{name: "state of two letters", in: "42 (x) SS " + statTail, err: true},
		{name: "ppid not a number", in: "42 (x) S one 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654", err: true},
		{name: "starttime not a number", in: "42 (x) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 -5", err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseStat([]byte(tt.in))
			if tt.err {
				if !errors.Is(err, errBadStat) {
					t.Fatalf("ParseStat(%q) = %+v, %v; want errBadStat", tt.in, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseStat(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
		})
	}
}

// ReadStat of the test process agrees with what the kernel says elsewhere.
func TestReadStatSelf(t *testing.T) {
	st, err := ReadStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if st.PPid != os.Getppid() || st.State != 'R' && st.State != 'S' || st.StartTime == 0 {
		t.Fatalf("ReadStat(self) = %+v, parent %d", st, os.Getppid())
	}
	if _, err := ReadStat(1 << 30); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("ReadStat of no process: %v", err)
	}
}

// FuzzParseStat: ParseStat never panics on any bytes, and reads back the
// fields of a stat line whatever the command name holds.
func FuzzParseStat(f *testing.F) {
	f.Add([]byte("42 (sleep) S "+statTail), "sleep", byte('S'), int32(1), int32(42), uint32(987654))
	f.Add([]byte("42 (a) b) S 9 (c) Z "+statTail), "a) b) S 9 (c", byte('Z'), int32(-1), int32(0), uint32(0))
	f.Add([]byte(")"), ") )\n", byte('R'), int32(7), int32(7), uint32(1))
	f.Fuzz(func(t *testing.T, raw []byte, comm string, state byte, ppid, pgrp int32, start uint32) {
		_, _ = ParseStat(raw)
		if !(state >= 'A' && state <= 'Z' || state >= 'a' && state <= 'z') {
			return // the kernel's states are letters
		}
		line := fmt.Sprintf("%d (%s) %s %d %d 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 %d 1000 200\n",
			ppid+1, comm, []byte{state}, ppid, pgrp, start)
		got, err := ParseStat([]byte(line))
		want := Stat{State: state, PPid: int(ppid), Pgrp: int(pgrp), StartTime: uint64(start)}
		if err != nil || got != want {
			t.Fatalf("ParseStat(%q) = %+v, %v; want %+v", line, got, err, want)
		}
	})
}

// TestReadChildStats checks the stats a new image reads ahead: every
// child is there, whichever thread started it, with its /proc values.
func TestReadChildStats(t *testing.T) {
	var cmds []*exec.Cmd
	for range 3 {
		c := exec.Command("sleep", "60")
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, c)
	}
	defer func() {
		for _, c := range cmds {
			_ = c.Process.Kill()
			_ = c.Wait()
		}
	}()
	ahead := ReadChildStats()
	if ahead == nil {
		t.Fatal("ReadChildStats: nil; this kernel lists children in /proc/self/task/TID/children")
	}
	stats := ahead.wait()
	for _, c := range cmds {
		got, ok := stats[c.Process.Pid]
		if !ok {
			t.Fatalf("child %d not read ahead; read %v", c.Process.Pid, stats)
		}
		want, err := ReadStat(c.Process.Pid)
		if err != nil {
			t.Fatal(err)
		}
		if got.PPid != os.Getpid() || got.StartTime != want.StartTime || got.StartTime == 0 {
			t.Fatalf("child %d read ahead as %+v, /proc says %+v", c.Process.Pid, got, want)
		}
	}
}

// TestReadStatsGone checks that a process that is gone reads as no one's
// child, however many workers share the list.
func TestReadStatsGone(t *testing.T) {
	c := exec.Command("true")
	if err := c.Run(); err != nil {
		t.Fatal(err)
	}
	pids := make([]int, 200)
	for i := range pids {
		pids[i] = c.Process.Pid
	}
	pids[100] = os.Getpid()
	stats := readStats(pids, 4).wait()
	if st := stats[c.Process.Pid]; st.PPid != -1 {
		t.Fatalf("a reaped child reads as %+v, want PPid -1", st)
	}
	if st := stats[os.Getpid()]; st.PPid != os.Getppid() {
		t.Fatalf("this process reads as %+v, want PPid %d", st, os.Getppid())
	}
}

// TestChildPids checks the list an --alarm abort kills when a spawn hangs:
// every child, whichever thread started it.
func TestChildPids(t *testing.T) {
	c := exec.Command("sleep", "60")
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = c.Process.Kill()
		_ = c.Wait()
	}()
	if pids := childPids(); !slices.Contains(pids, c.Process.Pid) {
		t.Fatalf("child %d not in %v", c.Process.Pid, pids)
	}
}

// TestSettled checks that an abort waits for the spawns under way, and
// gives up on one that never ends.
func TestSettled(t *testing.T) {
	st := &startup{}
	st.spawnBegin()
	if st.settled(10 * time.Millisecond) {
		t.Fatal("settled with a spawn under way")
	}
	go st.spawnEnd()
	if !st.settled(time.Minute) {
		t.Fatal("not settled once the spawn ended")
	}
}
