//go:build linux

package respawn

import (
	"golang.org/x/sys/unix"

	"respawn/capture"
	"respawn/marshal"
)

// captures reports whether r's output is to be captured.
func (s *Supervisor) captures(r *Server) bool {
	o := r.Set.Output
	if o == OutputDefault {
		o = s.cfg.Output
	}
	return o == OutputCapture && s.cfg.Capture != nil
}

// stdioOf is what r's process gets as descriptors 0, 1 and 2: respawn's
// own, or respawn's stdin and write ends of r's pipes, which release
// closes once the process has them. The pipes are made at the first start
// and serve every later one. A server whose pipes cannot be made (too few
// descriptors left) inherits respawn's stdout and stderr, with one
// warning; a start whose write ends cannot be opened inherits them too.
func (s *Supervisor) stdioOf(r *Server) (files []uintptr, release func()) {
	if r.out == nil && !r.outRefused && s.captures(r) {
		p, err := s.cfg.Capture.Open(r.Name, logFileOf(&r.Set))
		if err != nil {
			r.outRefused = true
			s.log.Warn("respawn: output not captured: the server inherits respawn's stdout and stderr",
				"server", r.Index, "name", r.Name, "err", err)
		}
		r.out = p
	}
	if r.out == nil {
		return stdio, func() {}
	}
	out, errw, err := r.out.Writers()
	if err != nil {
		s.log.Warn("respawn: output not captured for this start", "server", r.Index, "name", r.Name, "err", err)
		return stdio, func() {}
	}
	return []uintptr{0, uintptr(out), uintptr(errw)}, func() { unix.Close(out); unix.Close(errw) }
}

func logFileOf(st *Settings) capture.File {
	return capture.File{Path: st.LogFile, Max: st.LogMax, Keep: st.LogKeep}
}

// outputFDs appends the descriptors of every server's pipes to fds, for
// a live upgrade to keep.
func (s *Supervisor) outputFDs(fds []int) []int {
	for _, r := range s.recs {
		if r.out != nil {
			fds = append(fds, r.out.FDs()...)
		}
	}
	return fds
}

// pauseCapture stops the output reader before a live upgrade hands the
// log over, so that every line it has read is in what the new image
// writes first, and what it has not read stays in the pipes.
func (s *Supervisor) pauseCapture(h *capture.Hub) {
	if !h.Pause(pauseTimeout) {
		s.log.Warn("respawn: output reader did not pause for the upgrade: lines it holds may be lost", "timeout", pauseTimeout.String())
	}
}

// adoptOutput takes back the pipes the snapshot's servers kept. A server
// whose pipes cannot be adopted writes into them unread (the read ends
// stay open, so never to a broken pipe) and blocks once they are full,
// until its next start, which inherits.
func (s *Supervisor) adoptOutput(snap *marshal.Snapshot) {
	for i := range snap.Records {
		rec := &snap.Records[i]
		r := s.byName[rec.Name]
		if rec.Task || len(rec.Out) == 0 || r == nil || r.task != nil {
			continue
		}
		if s.cfg.Capture == nil {
			s.log.Warn("respawn: captured output not adopted: no reader", "server", r.Index, "name", r.Name)
			r.outRefused = true
			continue
		}
		p, err := s.cfg.Capture.Adopt(r.Name, rec.Out, logFileOf(&r.Set))
		if err != nil {
			s.log.Warn("respawn: captured output not adopted", "server", r.Index, "name", r.Name, "err", err)
			r.outRefused = true
			continue
		}
		r.out = p
	}
}
