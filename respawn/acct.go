package respawn

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"respawn/acct"
)

// AcctConfig sets up the task "acct": the daemon's configuration (the
// directory, the defaults of atopacctd's protocol).
type AcctConfig struct {
	acct.Config
}

// AcctRoles are the roles, among the descriptors a live upgrade keeps, of
// the accounting source (read) and the current shadow file (write).
const (
	AcctSourceRole = "acct-source"
	AcctShadowRole = "acct-shadow"
)

// acctPendingFor is how long a death waits for its accounting record
// before it is given up: the kernel writes the record before the parent
// can reap, so a record missing this long is not coming (accounting was
// switched off behind respawn's back, or suspended by a full disk).
const acctPendingFor = 5 * time.Second

// Accounting is what the kernel's accounting record says of one death of
// a server (acct(5)), attached to its Exit when --acct is on.
type Accounting struct {
	Exit       string  `json:"exit"`      // "exit 3", "signal SIGSEGV", from the record
	Core       bool    `json:"core"`      // ACORE: it began a core dump
	Signaled   bool    `json:"signaled"`  // the record's exit status is a death by a signal
	Flags      string  `json:"flags"`     // the kernel's flags: AFORK, ASU, ACORE, AXSIG, joined by |
	UserSec    float64 `json:"user_s"`    // user CPU time
	SystemSec  float64 `json:"system_s"`  // system CPU time
	ElapsedSec float64 `json:"elapsed_s"` // from its fork to its end
	MemKiB     uint64  `json:"mem_kib"`   // average memory
	MinFlt     uint64  `json:"minflt"`    // minor page faults
	MajFlt     uint64  `json:"majflt"`    // major page faults
	Comm       string  `json:"comm"`      // its command name, as the kernel had it
}

// accountingOf turns a record into what respawn shows of it.
func accountingOf(rec acct.Record) *Accounting {
	ws := rec.WaitStatus()
	a := &Accounting{
		Core: rec.Flags.Core(), Signaled: ws.Signaled(), Flags: flagNames(rec.Flags),
		UserSec: rec.Utime.Seconds(), SystemSec: rec.Stime.Seconds(), ElapsedSec: rec.Etime.Seconds(),
		MemKiB: rec.Mem, MinFlt: rec.Minflt, MajFlt: rec.Majflt, Comm: rec.Comm,
	}
	if ws.Signaled() {
		a.Exit = "signal " + signalName(ws.Signal())
	} else {
		a.Exit = "exit " + strconv.Itoa(ws.ExitStatus())
	}
	return a
}

// flagNames names the flags the kernel set. AXSIG says that a thread of
// the process was killed by a signal: the other threads of a
// multi-threaded program that exits are, so it comes with "exit 3" too.
func flagNames(f acct.Flags) string {
	var names []string
	for _, n := range []struct {
		f    acct.Flags
		name string
	}{{acct.AFORK, "AFORK"}, {acct.ASU, "ASU"}, {acct.ACORE, "ACORE"}, {acct.AXSIG, "AXSIG"}} {
		if f&n.f != 0 {
			names = append(names, n.name)
		}
	}
	return strings.Join(names, "|")
}

// logAttr is the record as one group of a log line: acct.exit=...
func (a *Accounting) logAttr() slog.Attr {
	sec := func(f float64) string {
		return time.Duration(f * float64(time.Second)).Round(time.Millisecond).String()
	}
	return slog.Group("acct", "exit", a.Exit, "core", a.Core, "signaled", a.Signaled, "flags", a.Flags,
		"user", sec(a.UserSec), "system", sec(a.SystemSec), "elapsed", sec(a.ElapsedSec),
		"mem_kib", a.MemKiB, "minflt", a.MinFlt, "majflt", a.MajFlt)
}

// permanentError is a task's error that no retry can mend (a missing
// capability, a namespace): the task is buried at once. Its message is
// the error's own.
type permanentError struct{ error }

func (e permanentError) Unwrap() error { return e.error }

// isPermanent reports whether a task's error is a permanentError.
func isPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

// accounter is the acct task's state. The task's goroutine owns the
// daemon's reading and copying (Pump, Tick); the event loop asks it for
// the record of each death (Want, Take), which costs one read of the
// source and never waits.
type accounter struct {
	cfg  AcctConfig
	task *Server
	d    atomic.Pointer[acct.Daemon]

	// From a snapshot: the old image's daemon, taken over by Adopt.
	inherited *acct.State
	source    int
	shadow    int

	pending  map[int]acctWait // loop-owned: deaths whose record is not read yet
	npending atomic.Int32     // len(pending), for the task's goroutine
	frozen   bool             // loop-owned: State was taken for a live upgrade

	frozenState *acct.State // what the snapshot carries, while frozen

	// starting is held while the task starts the daemon, so that an
	// acctStop then (an --alarm abort) waits for it and stops it.
	starting sync.Mutex
}

// acctWait is one death waiting for its accounting record.
type acctWait struct {
	r      *Server
	x      Exit  // the death, as the reaper told it
	deadRT int64 // the death's CLOCK_REALTIME, ns: r.lastExitRT while it is r's last
	since  int64 // CLOCK_MONOTONIC when it began to wait
}

// addAcctTask adds the task "acct" when cfg.Acct is set. It keeps the
// supervisor running, as a server does: respawn --acct with no server is
// atop's atopacctd.
func (s *Supervisor) addAcctTask() {
	if s.cfg.Acct == nil {
		return
	}
	a := &accounter{cfg: *s.cfg.Acct, pending: map[int]acctWait{}, source: -1, shadow: -1}
	if a.cfg.Log == nil {
		a.cfg.Log = s.log
	}
	s.acct = a
	s.AddTask("acct", true, a.run(s))
	a.task = s.byName["acct"]
}

// daemon is the running daemon, or nil (not started, stopped, or frozen
// for a live upgrade).
func (s *Supervisor) daemon() *acct.Daemon {
	if s.acct == nil || s.acct.frozen {
		return nil
	}
	return s.acct.d.Load()
}

// acctStarted runs on the loop once the daemon runs: the record of every
// live server is wanted from now on.
func (s *Supervisor) acctStarted(d *acct.Daemon, adopted bool) {
	st := d.Stats()
	s.log.Info("acct: process accounting on", "dir", st.Dir, "inherited", adopted, "seq", st.Seq)
	for _, r := range s.recs {
		if r.task == nil && r.State == Alive && r.Pid > 0 {
			d.Want(r.Pid, time.Unix(0, r.StartRT))
		}
	}
}

// acctEnter is enter's part for accounting: a server that starts is
// wanted, and one that ends gets its record if it has been read; if not,
// it waits for it (acctResolve) and the transition goes on without. Every
// ending is stamped (lastExitRT), so that a record read late is attached
// to the server's last exit only while that exit is still its death's.
func (s *Supervisor) acctEnter(r *Server, from, to State, x Exit) Exit {
	if r.task != nil {
		return x
	}
	if x.Set {
		r.lastExitRT = realtimeNs()
	}
	d := s.daemon()
	if d == nil {
		return x
	}
	switch {
	case to == Alive && r.Pid > 0:
		d.Want(r.Pid, time.Unix(0, r.StartRT))
	case from == Alive && x.Set && r.Pid > 0 && x.Err == "":
		if rec, ok := d.Take(r.Pid); ok {
			x.Acct = accountingOf(rec)
			d.Unwant(r.Pid)
			return x
		}
		s.acct.pending[r.Pid] = acctWait{r: r, x: x, deadRT: r.lastExitRT, since: monotonicNs()}
		s.acct.npending.Store(int32(len(s.acct.pending)))
	}
	return x
}

// acctResolve runs on the loop when the task has read new records and
// deaths are waiting: each record found is attached to its death (if it
// is still the server's last) and logged on a line of its own; a death
// waiting too long is given up.
func (s *Supervisor) acctResolve() {
	a, d := s.acct, s.daemon()
	if d == nil {
		return
	}
	now := monotonicNs()
	for pid, w := range a.pending {
		rec, ok := d.Take(pid)
		if !ok {
			if time.Duration(now-w.since) > acctPendingFor {
				s.log.Debug("acct: no accounting record", append(w.r.logID(), "pid", pid)...)
				d.Unwant(pid)
				delete(a.pending, pid)
			}
			continue
		}
		d.Unwant(pid)
		delete(a.pending, pid)
		s.acctLate(w, pid, accountingOf(rec))
	}
	a.npending.Store(int32(len(a.pending)))
}

// acctLate reports a record read after its death was logged: the
// event carries that death's exit, with its record, even when a later
// death is the server's last one now.
func (s *Supervisor) acctLate(w acctWait, pid int, acc *Accounting) {
	r, x := w.r, w.x
	x.Acct = acc
	if r.lastExitRT == w.deadRT {
		r.Last.Acct = acc
		s.view = nil
	}
	s.log.Info("accounted", append(r.logID(), "pid", pid, acc.logAttr())...)
	s.publish(Transition{Index: r.Index, Name: r.Name, From: r.State, To: r.State, Pid: pid, Exit: x, Accounted: true, TimeNs: realtimeNs()})
}

// acctStop stops a daemon still running as respawn ends some other way
// than through the task's end (a panic of the loop, an --alarm abort):
// accounting must never be left on. A daemon being started is waited for
// (its start is bounded: its probe waits 2 s at most).
func (s *Supervisor) acctStop() {
	if s.acct == nil {
		return
	}
	s.acct.starting.Lock()
	d := s.acct.d.Swap(nil)
	s.acct.starting.Unlock()
	if d != nil {
		_ = d.Stop()
	}
}

// String is the record in one line, as the text dump and respawnctl show it.
func (a *Accounting) String() string {
	b := make([]byte, 0, 128)
	b = append(b, a.Exit...)
	if a.Core {
		b = append(b, " core"...)
	}
	if a.Flags != "" {
		b = append(b, " flags="...)
		b = append(b, a.Flags...)
	}
	b = fmt.Appendf(b, " user=%.2fs system=%.2fs elapsed=%.2fs mem=%dKiB minflt=%d majflt=%d",
		a.UserSec, a.SystemSec, a.ElapsedSec, a.MemKiB, a.MinFlt, a.MajFlt)
	return string(b)
}

// AcctDump is the acct task in the info dump.
type AcctDump struct {
	State     string `json:"state"`
	Dir       string `json:"dir,omitempty"`
	Clients   int    `json:"clients"`
	Seq       uint64 `json:"seq"`
	Oldest    uint64 `json:"oldest"`
	Records   uint64 `json:"records"`
	Copied    uint64 `json:"copied"`
	Skipped   uint64 `json:"skipped,omitempty"`
	Truncates uint64 `json:"truncates,omitempty"`
	Reenables uint64 `json:"reenables,omitempty"`
	Full      bool   `json:"full,omitempty"`
	Waiting   int    `json:"waiting,omitempty"` // deaths waiting for their record
}

// acctDump is the acct task's part of the dump, or nil.
func (s *Supervisor) acctDump() *AcctDump {
	a := s.acct
	if a == nil {
		return nil
	}
	out := &AcctDump{State: a.task.State.String(), Waiting: len(a.pending)}
	if d := s.daemon(); d != nil {
		st := d.Stats()
		out.Dir, out.Clients, out.Seq, out.Oldest = st.Dir, st.Clients, st.Seq, st.Oldest
		out.Records, out.Copied, out.Skipped = st.Records, st.Copied, st.Skipped
		out.Truncates, out.Reenables, out.Full = st.Truncates, st.Reenables, st.Full
	}
	return out
}

// appendText appends the dump's acct line.
func (d *AcctDump) appendText(b []byte) []byte {
	if d == nil {
		return b
	}
	return fmt.Appendf(b, "acct: state=%s dir=%q clients=%d seq=%d oldest=%d records=%d copied=%d skipped=%d truncates=%d reenables=%d full=%t waiting=%d\n",
		d.State, d.Dir, d.Clients, d.Seq, d.Oldest, d.Records, d.Copied, d.Skipped, d.Truncates, d.Reenables, d.Full, d.Waiting)
}
