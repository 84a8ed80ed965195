package marshal

import (
	"fmt"
	"strings"
	"time"

	"respawn/heartbeat"
)

// Heartbeat is the heartbeat task's registrants and counters across a
// live upgrade. Each registrant's FIFO and pidfd are among the kept
// descriptors, with the roles HeartbeatFIFORole and HeartbeatPidFDRole
// name.
type Heartbeat struct {
	Registrants []Registrant `msgpack:"regs"`
	Registered  uint64       `msgpack:"registered"`
	Refused     uint64       `msgpack:"refused"`
	Beats       uint64       `msgpack:"beats"`
	Missed      uint64       `msgpack:"missed"`
}

// Registrant is one registrant (heartbeat.Kept, without its descriptors).
type Registrant struct {
	Pid      int    `msgpack:"pid"`
	File     string `msgpack:"file"` // its registration file's name
	FIFO     string `msgpack:"fifo"`
	Name     string `msgpack:"name"`
	PeriodNs int64  `msgpack:"period"`
	Misses   int    `msgpack:"misses"`
	Action   int    `msgpack:"action"` // a heartbeat.Action
	LastNs   int64  `msgpack:"last"`   // CLOCK_MONOTONIC of its last beat
	Fired    bool   `msgpack:"fired"`
	Beats    uint64 `msgpack:"beats"`
	Missed   uint64 `msgpack:"missed"`
}

// MaxHeartbeats bounds the registrants carried: heartbeat.MaxRegistrants.
const MaxHeartbeats = heartbeat.MaxRegistrants

// MaxFDs leaves room for each registrant's two kept descriptors (this
// does not compile if it does not).
const _ = uint(MaxFDs - 64 - 2*MaxHeartbeats)

// The roles of a registrant's kept descriptors: HeartbeatRolePrefix, what
// it is, and its pid.
const HeartbeatRolePrefix = "heartbeat-"

// HeartbeatFIFORole is the role of the read end of pid's FIFO.
func HeartbeatFIFORole(pid int) string { return fmt.Sprintf("%sfifo-%d", HeartbeatRolePrefix, pid) }

// HeartbeatPidFDRole is the role of pid's pidfd.
func HeartbeatPidFDRole(pid int) string { return fmt.Sprintf("%spidfd-%d", HeartbeatRolePrefix, pid) }

func (h *Heartbeat) validate() error {
	if h == nil {
		return nil
	}
	if len(h.Registrants) > MaxHeartbeats {
		return fmt.Errorf("marshal: %d heartbeat registrants, over the limit of %d", len(h.Registrants), MaxHeartbeats)
	}
	seen := make(map[int]bool, len(h.Registrants))
	for i := range h.Registrants {
		r := &h.Registrants[i]
		if err := r.validate(); err != nil {
			return fmt.Errorf("marshal: heartbeat registrant %d: %w", i+1, err)
		}
		if seen[r.Pid] {
			return fmt.Errorf("marshal: heartbeat registrant %d repeats pid %d", i+1, r.Pid)
		}
		seen[r.Pid] = true
	}
	return nil
}

func (r *Registrant) validate() error {
	period := time.Duration(r.PeriodNs)
	switch pid, ok := heartbeat.ParseFileName(r.File); {
	case !ok || pid != r.Pid:
		return fmt.Errorf("file %.40q for pid %d", r.File, r.Pid)
	case r.FIFO == "" || r.FIFO[0] != '/' || len(r.FIFO) > heartbeat.MaxPath || strings.ContainsAny(r.FIFO, "\x00\n"):
		return fmt.Errorf("fifo %.40q", r.FIFO)
	case r.Name == "" || len(r.Name) > heartbeat.MaxName:
		return fmt.Errorf("name of %d bytes", len(r.Name))
	case period < heartbeat.MinPeriod || period > heartbeat.MaxPeriod:
		return fmt.Errorf("period %s", period)
	case r.Misses < 0 || r.Misses > heartbeat.MaxMisses:
		return fmt.Errorf("misses %d", r.Misses)
	case r.Action != int(heartbeat.ActionKill) && r.Action != int(heartbeat.ActionLog):
		return fmt.Errorf("action %d", r.Action)
	case r.LastNs < 0:
		return fmt.Errorf("last beat at %d", r.LastNs)
	}
	return nil
}
