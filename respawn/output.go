package respawn

import "time"

// pauseTimeout bounds how long a live upgrade or the end waits for the
// output reader to stop (it may be writing to a log file on a stalled
// disk).
const pauseTimeout = 500 * time.Millisecond

// drainOutput writes the captured lines still in the pipes, before
// respawn's last log line: a server's last words are not lost to its
// supervisor's exit. It waits at most pauseTimeout.
func (s *Supervisor) drainOutput() {
	if h := s.cfg.Capture; h != nil {
		h.Drain(pauseTimeout)
	}
}
