package respawn

import (
	"strings"
	"time"

	"respawn/heartbeat"
	"respawn/marshal"
)

// freezeHeartbeat stops the monitor where it is for a live upgrade: no
// beat is read and no action taken in this image. Each registrant's FIFO
// and pidfd are kept for the next image. It runs on the loop.
func (s *Supervisor) freezeHeartbeat() {
	b := s.hb
	if b == nil || b.frozen != nil {
		return
	}
	b.starting.Lock()
	var h heartbeat.Handover
	if m := b.m.Load(); m != nil {
		h = m.Freeze()
	} else if b.inherited != nil { // the task has not started: carried on as it came
		h = *b.inherited
	}
	b.starting.Unlock()
	b.frozen = &h
	for _, k := range h.Registrants {
		s.KeepFD(marshal.HeartbeatFIFORole(k.Pid), k.FIFO)
		s.KeepFD(marshal.HeartbeatPidFDRole(k.Pid), k.PidFD)
	}
}

// thawHeartbeat lets the monitor go on after a live upgrade that failed.
func (s *Supervisor) thawHeartbeat() {
	b := s.hb
	if b == nil || b.frozen == nil {
		return
	}
	for _, k := range b.frozen.Registrants {
		s.dropFD(marshal.HeartbeatFIFORole(k.Pid))
		s.dropFD(marshal.HeartbeatPidFDRole(k.Pid))
	}
	b.frozen = nil
	if m := b.m.Load(); m != nil {
		m.Thaw()
	}
}

// heartbeatRecord is the monitor's state for the snapshot, or nil.
func (s *Supervisor) heartbeatRecord() *marshal.Heartbeat {
	b := s.hb
	if b == nil || b.frozen == nil {
		return nil
	}
	h := b.frozen
	out := &marshal.Heartbeat{Registered: h.Registered, Refused: h.Refused, Beats: h.Beats, Missed: h.Missed}
	for _, k := range h.Registrants {
		out.Registrants = append(out.Registrants, marshal.Registrant{
			Pid: k.Pid, File: k.File, FIFO: k.Reg.FIFO, Name: k.Reg.Name, PeriodNs: int64(k.Reg.Period), Misses: k.Reg.Misses,
			Action: int(k.Reg.Action), LastNs: k.LastNs, Fired: k.Fired, Beats: k.Beats, Missed: k.Missed,
		})
	}
	return out
}

// loadHeartbeat takes the registrants a snapshot carried, for the task to
// adopt (it checks each descriptor against what the snapshot says). A
// registrant without both descriptors is left out: its file is still in
// the directory, and the monitor's first scan registers it again. It
// closes nothing: the pre-flight check runs it too, in a process that
// holds none of these descriptors.
func (s *Supervisor) loadHeartbeat(snap *marshal.Snapshot) {
	b, m := s.hb, snap.Heartbeat
	if b == nil || m == nil {
		return
	}
	fds := map[string]int{}
	for _, fd := range snap.FDs {
		if strings.HasPrefix(fd.Role, marshal.HeartbeatRolePrefix) {
			fds[fd.Role] = fd.FD
		}
	}
	h := &heartbeat.Handover{Registered: m.Registered, Refused: m.Refused, Beats: m.Beats, Missed: m.Missed}
	for _, r := range m.Registrants {
		fifo, ok1 := fds[marshal.HeartbeatFIFORole(r.Pid)]
		pidfd, ok2 := fds[marshal.HeartbeatPidFDRole(r.Pid)]
		if !ok1 || !ok2 {
			s.log.Warn("heartbeat: the snapshot's registrant has no descriptors: registered again from its file", "pid", r.Pid)
			continue
		}
		h.Registrants = append(h.Registrants, heartbeat.Kept{
			Pid: r.Pid, File: r.File, LastNs: r.LastNs, Fired: r.Fired, Beats: r.Beats, Missed: r.Missed, FIFO: fifo, PidFD: pidfd,
			Reg: heartbeat.Registration{FIFO: r.FIFO, Period: time.Duration(r.PeriodNs), Misses: r.Misses,
				Action: heartbeat.Action(r.Action), Name: r.Name},
		})
	}
	b.inherited = h
}
