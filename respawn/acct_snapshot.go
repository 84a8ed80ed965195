package respawn

import (
	"respawn/acct"
	"respawn/marshal"
)

// freezeAcct stops the daemon where it is for a live upgrade: what it
// has read is copied, and it copies nothing more in this image. Its two
// descriptors are kept for the next image. It runs on the loop.
func (s *Supervisor) freezeAcct() {
	a := s.acct
	if a == nil || a.frozen {
		return
	}
	d := a.d.Load()
	if d == nil {
		return
	}
	st := d.State()
	a.frozenState = &st
	a.frozen = true
	src, shd := d.Files()
	s.KeepFD(AcctSourceRole, src)
	s.KeepFD(AcctShadowRole, shd)
}

// thawAcct lets the daemon go on after a live upgrade that failed.
func (s *Supervisor) thawAcct() {
	a := s.acct
	if a == nil || !a.frozen {
		return
	}
	a.frozen, a.frozenState = false, nil
	s.dropFD(AcctSourceRole)
	s.dropFD(AcctShadowRole)
	if d := a.d.Load(); d != nil {
		d.Thaw()
	}
}

// acctRecord is the daemon's state for the snapshot, or nil.
func (s *Supervisor) acctRecord() *marshal.Acct {
	a := s.acct
	if a == nil || a.frozenState == nil {
		return nil
	}
	st := a.frozenState
	return &marshal.Acct{
		Dir: st.Dir, RecSize: st.RecSize, SourceOff: st.SourceOff, Seq: st.Seq, Oldest: st.Oldest, ShadowRecs: st.ShadowRecs,
		Busy: st.Busy, Skipped: st.Skipped, LastRecNs: st.LastRecNs, LastGCNs: st.LastGCNs, Copied: st.Copied,
	}
}

// loadAcct takes the daemon a snapshot carried, for the task to adopt: a
// snapshot without one, or without both descriptors, leaves the task to
// start a daemon of its own.
func (s *Supervisor) loadAcct(snap *marshal.Snapshot) {
	a := s.acct
	if a == nil || snap.Acct == nil {
		return
	}
	a.source, a.shadow = -1, -1
	for _, fd := range snap.FDs {
		switch fd.Role {
		case AcctSourceRole:
			a.source = fd.FD
		case AcctShadowRole:
			a.shadow = fd.FD
		}
	}
	if a.source < 0 || a.shadow < 0 {
		s.log.Warn("acct: the snapshot's accounting has no descriptors: starting anew")
		return
	}
	m := snap.Acct
	a.inherited = &acct.State{
		Dir: m.Dir, RecSize: m.RecSize, SourceOff: m.SourceOff, Seq: m.Seq, Oldest: m.Oldest, ShadowRecs: m.ShadowRecs,
		Busy: m.Busy, Skipped: m.Skipped, LastRecNs: m.LastRecNs, LastGCNs: m.LastGCNs, Copied: m.Copied,
	}
}

// record is the accounting record for the snapshot, or nil.
func (a *Accounting) record() *marshal.Death {
	if a == nil {
		return nil
	}
	return &marshal.Death{
		Exit: a.Exit, Core: a.Core, Signaled: a.Signaled, Flags: a.Flags, UserSec: a.UserSec, SystemSec: a.SystemSec,
		ElapsedSec: a.ElapsedSec, MemKiB: a.MemKiB, MinFlt: a.MinFlt, MajFlt: a.MajFlt, Comm: a.Comm,
	}
}

// accountingFrom is the record a snapshot carried, or nil.
func accountingFrom(d *marshal.Death) *Accounting {
	if d == nil {
		return nil
	}
	return &Accounting{
		Exit: d.Exit, Core: d.Core, Signaled: d.Signaled, Flags: d.Flags, UserSec: d.UserSec, SystemSec: d.SystemSec,
		ElapsedSec: d.ElapsedSec, MemKiB: d.MemKiB, MinFlt: d.MinFlt, MajFlt: d.MajFlt, Comm: d.Comm,
	}
}
