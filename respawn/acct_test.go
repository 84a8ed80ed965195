package respawn

import (
	"bytes"
	"strings"
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

// A record read after its server died again is published with the death
// it belongs to: that death's exit, not a made-up "exit 0", and it does
// not change the server's last exit, which is the later death's.
func TestAcctLateEarlierDeath(t *testing.T) {
	s := New(quietConfig(), []Spec{{Argv: []string{"sleep"}}})
	r := s.recs[0]
	sub := s.Subscribe(4)
	first := Exit{Set: true, Signal: 11, Core: true}
	r.Last, r.lastExitRT = Exit{Set: true, Code: 3}, 2 // the later death
	acc := accountingOf(acct.Record{ExitCode: 0x8b, Flags: acct.ACORE | acct.AXSIG})
	s.acctLate(acctWait{r: r, x: first, deadRT: 1}, 4242, acc)
	got := <-sub.C
	if !got.Accounted || got.Exit.String() != "signal SIGSEGV (core dumped)" || got.Exit.Acct != acc {
		t.Errorf("accounted event: %+v; want the first death's exit with its record", got)
	}
	if r.Last.Acct != nil || r.Last.String() != "exit 3" {
		t.Errorf("last exit %v with acct %v; want the later death's, without the earlier's record", r.Last, r.Last.Acct)
	}
}

// A record read late, once the server has died again (and that death's
// record was found at once), is not attached to the later death: every
// ending is stamped, not only those left waiting.
func TestAcctLateAfterLaterDeath(t *testing.T) {
	s := New(quietConfig(), []Spec{{Argv: []string{"sleep"}}})
	s.acct = &accounter{pending: map[int]acctWait{}}
	r := s.recs[0]
	first := s.acctEnter(r, Alive, Dead, Exit{Set: true, Code: 3})
	w := acctWait{r: r, x: first, deadRT: r.lastExitRT}
	r.Last = s.acctEnter(r, Alive, Dead, Exit{Set: true, Signal: 9})
	s.acctLate(w, 4242, accountingOf(acct.Record{ExitCode: 3 << 8}))
	if r.Last.Acct != nil {
		t.Errorf("the later death (%v) was given the earlier one's record: %v", r.Last, r.Last.Acct)
	}
}

// The text dump shows a server's last death's record on its line, and
// the acct task's own line.
func TestWriteTextAcct(t *testing.T) {
	s := dumpSupervisor(1)
	s.recs[0].Last = Exit{Set: true, Code: 3, Acct: accountingOf(acct.Record{ExitCode: 3 << 8, Utime: 1500 * time.Millisecond})}
	s.acct = &accounter{task: &Server{State: Buried}, pending: map[int]acctWait{}}
	var b bytes.Buffer
	if err := s.Snapshot().WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		` last="exit 3" acct="exit 3 user=1.50s system=0.00s elapsed=0.00s mem=0KiB minflt=0 majflt=0" cmd: `,
		"\nacct: state=BURIED dir=\"\" clients=0 seq=0 oldest=0 records=0 copied=0 skipped=0 truncates=0 reenables=0 full=false waiting=0\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("dump lacks %q:\n%s", want, b.String())
		}
	}
}
