//go:build linux

package capture

// emit writes one line (or piece) of st: to the server's log file as the
// server wrote it, and tagged to the sink, counting it dropped if the
// sink cannot take it. The first line taken after drops is preceded by a
// report of how many were dropped. It runs on the reader goroutine.
func (h *Hub) emit(st *stream, line []byte, partial bool) {
	p := st.p
	if p.file != nil {
		p.file.write(line, partial)
	}
	if h.cfg.JSON {
		h.line = appendJSON(h.line[:0], h.cfg.Now(), p.name, st.name, line, partial)
	} else {
		h.line = appendText(h.line[:0], p.name, line, partial)
	}
	if !h.cfg.Sink.Offer(h.line) {
		p.dropped.Add(1)
		p.episode++
		return
	}
	if p.episode > 0 && h.cfg.Log != nil {
		h.cfg.Log.Warn("respawn: output lines dropped", "name", p.name, "dropped", p.episode)
		p.episode = 0
	}
}
