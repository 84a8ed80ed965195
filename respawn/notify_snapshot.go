package respawn

import (
	"time"

	"respawn/marshal"
	"respawn/notify"
)

// notifyRecord is r's sd_notify state for the snapshot: only an ALIVE
// server's, and nil when it has nothing to carry.
func notifyRecord(r *Server) *marshal.Notify {
	sd := &r.sd
	if r.task != nil || r.State != Alive || *sd == (sdState{}) {
		return nil
	}
	return &marshal.Notify{
		Ready: sd.ready, Status: sd.status, WatchdogNs: sd.dogNs, WatchdogTimeoutNs: int64(sd.dogTimeout),
		WatchdogFired: sd.dogFired, MainPid: sd.forked,
	}
}

// loadNotifyRecord gives r the sd_notify state the snapshot carried.
func (r *Server) loadNotifyRecord(n *marshal.Notify) {
	if n == nil || r.task != nil || r.State != Alive {
		return
	}
	r.sd = sdState{
		ready: n.Ready, status: n.Status, dogNs: n.WatchdogNs, dogTimeout: time.Duration(n.WatchdogTimeoutNs),
		dogFired: n.WatchdogFired, forked: n.MainPid,
	}
}

// loadNotify takes the sd_notify socket a live upgrade kept: notifyOpen
// adopts it, so that the name every server holds stays valid, and the
// datagrams waiting in it are read by this image.
func (s *Supervisor) loadNotify(snap *marshal.Snapshot) {
	for _, fd := range snap.FDs {
		if fd.Role == notify.Role {
			if s.notify == nil {
				s.notify = &notifier{inherited: -1}
			}
			s.notify.inherited = fd.FD
		}
	}
}

// armCarriedWatchdogs arms the timer for the watchdog deadlines a live
// upgrade carried: a deadline that passed during the upgrade fires at
// once.
func (s *Supervisor) armCarriedWatchdogs() {
	for _, r := range s.recs {
		if r.sd.dogNs != 0 && r.State == Alive {
			s.armNotifyAt(r.sd.dogNs)
		}
	}
}
