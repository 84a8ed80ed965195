package respawn

import (
	"testing"
	"time"

	"respawn/acct"
)

// The record's exit code is a wait status: respawn shows it as its own
// deaths, with the flags beside it.
func TestAccountingOf(t *testing.T) {
	for _, c := range []struct {
		rec  acct.Record
		want string
	}{
		{acct.Record{ExitCode: 3 << 8}, "exit 3"},
		{acct.Record{ExitCode: 3 << 8, Flags: acct.AXSIG}, "exit 3 flags=AXSIG"}, // a multi-threaded exit
		{acct.Record{ExitCode: 9, Flags: acct.AXSIG}, "signal SIGKILL flags=AXSIG"},
		{acct.Record{ExitCode: 0x8b, Flags: acct.ACORE | acct.AXSIG}, "signal SIGSEGV core flags=ACORE|AXSIG"},
	} {
		c.rec.Utime, c.rec.Stime, c.rec.Etime = 1500*time.Millisecond, 250*time.Millisecond, 3*time.Second
		c.rec.Mem, c.rec.Minflt, c.rec.Majflt = 2048, 10, 1
		a := accountingOf(c.rec)
		want := c.want + " user=1.50s system=0.25s elapsed=3.00s mem=2048KiB minflt=10 majflt=1"
		if got := a.String(); got != want {
			t.Errorf("record %#x %v: %q; want %q", c.rec.ExitCode, c.rec.Flags, got, want)
		}
	}
}
