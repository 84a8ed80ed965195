package respawn

import (
	"strconv"
	"time"
)

// The restart policy: a server that dies abnormally sooner than
// --interval after its start is not buried at once but retried, up to
// its --retries times in a row, and buried at the next such death. The
// retries wait in DEAD on the loop's respawn timer (pace.go): retryFirst
// after the first fast death, doubling with each one in a row up to
// retryMax, each stretched by up to half at random as paced respawns are.
//
// The count of fast deaths in a row (Server.fast) goes back to 0 when a
// life reaches --interval (counted at that life's death, whatever its
// ending), when the server is cremated, and when a buried server is
// revived or started. An operator's start of a server waiting for its
// retry starts it at once and keeps the count.
//
// retryMax is 10 s rather than --interval: the interval may be a
// nanosecond (every death late) or an hour (a server down for an hour),
// neither a useful wait; 10 s keeps a server with many retries coming
// back soon after whatever it needs does, and costs one fork per 10 s.
const (
	retryFirst = 100 * time.Millisecond
	retryMax   = 10 * time.Second
)

// retryDelay is the wait before the retry that follows n fast deaths in
// a row (n >= 1).
func retryDelay(n int) time.Duration { return doubling(retryFirst, retryMax, n) }

// retries is the number of retries r's policy allows: its own
// --retries, or the global one. Internal tasks have none: a subsystem
// that cannot work says so once and is buried.
func (s *Supervisor) retries(r *Server) int {
	switch {
	case r.task != nil:
		return 0
	case r.Set.RetriesSet:
		return r.Set.Retries
	}
	return s.cfg.Retries
}

// reviveHint is what an operator does to start a buried record again.
func reviveHint(r *Server) string {
	return "respawnctl revive " + Quote([]string{r.Name}) + ", or SIGUSR2 to respawn"
}

// retryAttrs are the log attributes of r's restart policy as it enters
// state to: the retry a DEAD record waits for, and when; what it took to
// bury a BURIED one and how to revive it.
func (s *Supervisor) retryAttrs(r *Server, to State) []any {
	switch {
	case to == Dead && r.dueNs != 0 && r.fast > 0:
		return []any{"retry", retryOf(r.fast, s.retries(r)), "respawn_in", dueIn(r.dueNs).String()}
	case to == Dead && r.dueNs != 0:
		return []any{"respawn_in", dueIn(r.dueNs).String()}
	case to == Buried && r.fast > 0:
		return []any{"retries", r.fast, "revive", reviveHint(r)}
	case to == Buried:
		return []any{"revive", reviveHint(r)}
	}
	return nil
}

// retryOf is "k/n": the k-th retry of n.
func retryOf(k, n int) string { return strconv.Itoa(k) + "/" + strconv.Itoa(n) }

// dueIn is how long until dueNs (CLOCK_MONOTONIC), to the millisecond.
func dueIn(dueNs int64) time.Duration {
	return max(time.Duration(dueNs-monotonicNs()), 0).Round(time.Millisecond)
}
