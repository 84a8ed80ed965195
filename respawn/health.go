package respawn

// unhealthy says why supervision is not healthy, or "" when it is. It is
// what a watchdog asks before each keepalive: the hardware watchdog (the
// task "watchdog") and systemd's (WATCHDOG=1 when respawn runs under
// systemd). It runs on the event loop, so a loop that no longer turns
// never answers, and the watchdog fires: that is its point.
//
// Healthy means: no internal task is BURIED after it failed at its work
// (supervision broken), and every server named by Config.Require
// (--watchdog-require) is ALIVE, DEAD waiting for its restart, or not
// started yet; one BURIED, or CREMATED (stopped, or ended cleanly), is
// not. Not counted: a task buried because it cannot work here at all (a
// permanentError: a container's pid namespace, a missing capability, an
// unsafe directory), which no reset would mend and which would otherwise
// reset the machine, or have systemd kill respawn, at every start; a task
// an operator stopped; and the watchdog task itself (a device that failed
// is not supervision broken). While respawn stops, every task and server
// ends as asked: the loop turning is all that is asked then.
func (s *Supervisor) unhealthy() string {
	if s.stopping {
		return ""
	}
	for _, r := range s.recs {
		if r.task != nil && r.State == Buried && !r.permanent && (s.wd == nil || r != s.wd.task) {
			return "task " + r.Name + " is " + r.State.String()
		}
	}
	for _, name := range s.cfg.Require {
		r := s.byName[name]
		switch {
		case r == nil:
			return "required server " + name + " does not exist"
		case r.State == Buried || r.State == Cremated:
			return "required server " + name + " is " + r.State.String()
		}
	}
	return ""
}

// keepalives sends the watchdogs' keepalives that are due, without
// waiting. The loop calls it at the top of every turn and between the
// units of work of a long one (each exit reaped, each paced respawn, each
// batch of starts), so that a keepalive waits for one fork and exec at
// most, not for a turn: a turn is bounded by count, and on a slow machine
// (an emulated one: a fork and exec of 50 ms) 64 spawns take seconds, and
// a pet timer that waited its turn among the other ready channels was
// seen 17 s late. A loop that stops making progress calls it no more.
func (s *Supervisor) keepalives() {
	select {
	case <-s.petC():
		s.onWatchdogTick()
	default:
	}
	select {
	case <-s.systemd.c:
		s.onSystemdTimer()
	default:
	}
}
