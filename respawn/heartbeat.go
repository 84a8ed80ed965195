package respawn

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"respawn/heartbeat"
)

// HeartbeatConfig sets up the task "heartbeat": AHM's registration
// directory (see package heartbeat).
type HeartbeatConfig struct {
	Dir string
}

// beater is the heartbeat task's state. The monitor's own goroutine
// reads the beats and takes the actions; the loop only freezes it for a
// live upgrade and asks it for the dump.
type beater struct {
	cfg  HeartbeatConfig
	task *Server
	m    atomic.Pointer[heartbeat.Monitor]

	// starting is held while the task makes the monitor and hands it the
	// inherited registrants, and while the loop freezes it: a freeze
	// finds either the monitor or the registrants not handed over yet.
	starting  sync.Mutex
	inherited *heartbeat.Handover // from a snapshot, for the task to adopt
	frozen    *heartbeat.Handover // loop-owned: taken for a live upgrade
}

// addHeartbeatTask adds the task "heartbeat" when cfg.Heartbeat is set.
// It keeps the supervisor running, as a server does: respawn
// --heartbeat-dir with no server is AHM.
func (s *Supervisor) addHeartbeatTask() {
	if s.cfg.Heartbeat == nil {
		return
	}
	b := &beater{cfg: *s.cfg.Heartbeat}
	s.hb = b
	s.AddTask("heartbeat", true, b.run(s))
	b.task = s.byName["heartbeat"]
}

// HeartbeatDump is the heartbeat task in the info dump.
type HeartbeatDump struct {
	State       string                `json:"state"`
	Dir         string                `json:"dir"`
	Registered  uint64                `json:"registered"` // registrations completed
	Refused     uint64                `json:"refused"`    // registration files renamed invalid
	Beats       uint64                `json:"beats"`
	Missed      uint64                `json:"missed"` // deadlines missed (actions taken)
	Registrants []HeartbeatRegistrant `json:"registrants"`
}

// HeartbeatRegistrant is one registrant in the dump.
type HeartbeatRegistrant struct {
	Pid      int     `json:"pid"`
	Name     string  `json:"name"`
	Action   string  `json:"action"`
	Period   string  `json:"period"`
	Misses   int     `json:"misses"` // periods in a row it may miss
	Beats    uint64  `json:"beats"`
	Missed   uint64  `json:"missed"`
	SinceSec float64 `json:"since_s"` // since its last beat
	Late     bool    `json:"late"`    // its action was taken, and no beat came since
}

// heartbeatDump is the heartbeat task's part of the dump, or nil.
func (s *Supervisor) heartbeatDump() *HeartbeatDump {
	b := s.hb
	if b == nil {
		return nil
	}
	out := &HeartbeatDump{State: b.task.State.String(), Dir: b.cfg.Dir, Registrants: []HeartbeatRegistrant{}}
	m := b.m.Load()
	if m == nil {
		return out
	}
	st := m.Stats()
	out.Registered, out.Refused, out.Beats, out.Missed = st.Registered, st.Refused, st.Beats, st.Missed
	for _, r := range st.Registrants {
		out.Registrants = append(out.Registrants, HeartbeatRegistrant{
			Pid: r.Pid, Name: r.Name, Action: r.Action.String(), Period: r.Period.String(), Misses: r.Misses,
			Beats: r.Beats, Missed: r.Missed, SinceSec: r.Since.Seconds(), Late: r.Late,
		})
	}
	slices.SortFunc(out.Registrants, func(a, b HeartbeatRegistrant) int { return a.Pid - b.Pid })
	return out
}

// appendText appends the dump's heartbeat lines: the task's, then one
// per registrant.
func (d *HeartbeatDump) appendText(b []byte) []byte {
	if d == nil {
		return b
	}
	b = fmt.Appendf(b, "heartbeat: state=%s dir=%q registrants=%d registered=%d refused=%d beats=%d missed=%d\n",
		d.State, d.Dir, len(d.Registrants), d.Registered, d.Refused, d.Beats, d.Missed)
	for _, r := range d.Registrants {
		since := time.Duration(r.SinceSec * float64(time.Second)).Round(time.Millisecond)
		b = fmt.Appendf(b, "  heartbeat pid=%d name=%s action=%s period=%s misses=%d beats=%d missed=%d since=%s late=%t\n",
			r.Pid, r.Name, r.Action, r.Period, r.Misses, r.Beats, r.Missed, since, r.Late)
	}
	return b
}
