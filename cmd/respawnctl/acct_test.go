package main

import (
	"bytes"
	"testing"

	"respawn/control"
	"respawn/respawn"
)

// respawnctl events shows a death's accounting record after it, and a
// record read late on a line of its own that reads "accounted", without
// states or the exit a second time; a forged comm or flag stays on its
// line.
func TestAcctEvents(t *testing.T) {
	acc := &respawn.Accounting{Exit: "signal SIGSEGV", Core: true, Signaled: true, Flags: "ACORE|AXSIG",
		UserSec: 1.5, SystemSec: 0.25, ElapsedSec: 3, MemKiB: 2048, MinFlt: 10, MajFlt: 1}
	ev := func(e control.Event) control.StreamLine {
		e.Time = "T"
		e.Seq = 7
		e.Index = 1
		e.Name = "web"
		return control.StreamLine{Event: e}
	}
	rec := "acct: signal SIGSEGV core flags=ACORE|AXSIG user=1.50s system=0.25s elapsed=3.00s mem=2048KiB minflt=10 majflt=1"
	tests := []struct {
		name string
		in   control.StreamLine
		want string
	}{
		{"with the death", ev(control.Event{From: "ALIVE", To: "DEAD", Pid: 42, Exit: "signal SIGSEGV (core dumped)", Acct: acc}),
			"T #7 [1] web ALIVE -> DEAD pid 42 (signal SIGSEGV (core dumped)) " + rec},
		{"read late", ev(control.Event{From: "ALIVE", To: "ALIVE", Pid: 42, Exit: "signal SIGSEGV (core dumped)", Acct: acc, Accounted: true}),
			"T #7 [1] web accounted pid 42 " + rec},
		{"forged", ev(control.Event{From: "ALIVE", To: "DEAD", Pid: 42, Exit: "exit 3", Acct: &respawn.Accounting{Exit: "exit 3\n[2] x", Flags: "A\nB"}}),
			`T #7 [1] web ALIVE -> DEAD pid 42 (exit 3) acct: "exit 3\n[2] x flags=A\nB user=0.00s system=0.00s elapsed=0.00s mem=0KiB minflt=0 majflt=0"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			writeEvent(&b, tt.in)
			if b.String() != tt.want+"\n" {
				t.Errorf("got  %q\nwant %q", b.String(), tt.want+"\n")
			}
		})
	}
}
