// Package logbuf puts a bounded buffer between respawn's event loop and
// its log output, so that a reader that stops reading (a full pipe, a
// terminal under Ctrl-S, a stuck log driver) can never stall the loop.
//
// A Writer's Write never blocks: it copies p into the buffer whole, or,
// when the buffer cannot take all of p, drops p whole and counts it (an
// empty buffer takes one write of any size, so that the info dump of
// thousands of servers is written, not dropped for ever). One goroutine
// drains the buffer to the real output in whole lines of up to PIPE_BUF
// bytes, which a pipe writes whole or not at all, so that an execve or an
// exit never leaves half a line; a longer line is one write of its own. When it has
// caught up after drops, it writes one line saying how many writes were
// dropped. Handover takes what is not written yet, so that a live upgrade
// can carry it across execve instead of waiting for a stalled reader.
package logbuf

import (
	"bytes"
	"io"
	"sync"
	"time"
)

// Chunk is the most the drainer writes at once: PIPE_BUF on Linux, so
// that a write to a pipe is whole or nothing even if the process execs or
// dies while it is blocked.
const Chunk = 4096

// Writer is an io.Writer that never blocks. It is safe for concurrent use.
type Writer struct {
	out     io.Writer
	max     int
	dropped func(n uint64) []byte // formats the "N dropped" line

	mu       sync.Mutex
	buf      []byte        // buf[off:] is taken and not written yet
	off      int           // bytes of buf already written
	lost     uint64        // writes dropped since the last report
	taken    uint64        // bytes taken, ever
	written  uint64        // bytes written, ever
	held     bool          // handed over: the drainer starts no write
	progress chan struct{} // closed and replaced when written grows
	wake     chan struct{} // cap 1: the drainer has work
}

// New returns a Writer that buffers up to max bytes for out and starts
// the goroutine that drains it. dropped formats the line that reports n
// dropped writes; nil means "respawn: N log lines dropped".
func New(out io.Writer, max int, dropped func(n uint64) []byte) *Writer {
	if dropped == nil {
		dropped = DroppedLine
	}
	w := &Writer{out: out, max: max, dropped: dropped, progress: make(chan struct{}), wake: make(chan struct{}, 1)}
	go w.drain()
	return w
}

// DroppedLine is the default report of n dropped writes.
func DroppedLine(n uint64) []byte {
	return []byte("respawn: " + itoa(n) + " log lines dropped\n")
}

// Write takes p whole, or drops it whole if the buffer is full. It never
// blocks on the output and always reports len(p), nil: a dropped write is
// counted, not an error of the caller's.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.take(p)
	w.mu.Unlock()
	w.kick()
	return len(p), nil
}

// Offer is Write that reports whether p was taken (true) or dropped
// whole and counted (false), for a caller that counts its own drops.
func (w *Writer) Offer(p []byte) bool {
	w.mu.Lock()
	lost := w.lost
	w.take(p)
	ok := w.lost == lost
	w.mu.Unlock()
	if ok {
		w.kick()
	}
	return ok
}

// take appends p to the buffer, or counts it lost. w.mu is held.
func (w *Writer) take(p []byte) {
	if n := len(w.buf) - w.off; n > 0 && n+len(p) > w.max {
		w.lost++
		return
	}
	if w.off > 0 && len(w.buf)+len(p) > w.max {
		w.buf = w.buf[:copy(w.buf, w.buf[w.off:])] // compact
		w.off = 0
	}
	w.buf = append(w.buf, p...)
	w.taken += uint64(len(p))
}

func (w *Writer) kick() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Dropped is the number of writes dropped and not yet reported.
func (w *Writer) Dropped() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lost
}

// drain writes what is buffered, a chunk at a time, for ever. The chunk
// is copied out of the buffer, which Write may move meanwhile.
func (w *Writer) drain() {
	scratch := make([]byte, 0, Chunk)
	for range w.wake {
		for {
			var ok bool
			if scratch, ok = w.writeOnce(scratch[:0]); !ok {
				break
			}
		}
	}
}

// writeOnce writes the next chunk, or the drop report once the buffer is
// empty; it reports whether it wrote anything. The chunk stays in the
// buffer until it is written, so that Handover counts a write still
// blocked as not done.
func (w *Writer) writeOnce(scratch []byte) ([]byte, bool) {
	w.mu.Lock()
	if w.off == len(w.buf) && w.lost > 0 && !w.held {
		w.take(w.dropped(w.lost))
		w.lost = 0
	}
	if !w.held {
		rest := w.buf[w.off:]
		scratch = append(scratch, rest[:chunk(rest)]...)
	}
	w.mu.Unlock()
	if len(scratch) == 0 {
		return scratch, false
	}
	k, err := w.out.Write(scratch)
	if err != nil && k == 0 {
		k = len(scratch) // an output that fails is not retried: the bytes are gone
	}
	w.mu.Lock()
	w.off += k
	w.written += uint64(k)
	if w.off == len(w.buf) {
		w.buf, w.off = w.buf[:0], 0
	}
	close(w.progress)
	w.progress = make(chan struct{})
	w.mu.Unlock()
	return scratch, true
}

// chunk is how much of b to write at once: whole lines up to Chunk bytes,
// or one longer line by itself, or what is left.
func chunk(b []byte) int {
	if len(b) <= Chunk {
		return len(b)
	}
	if i := bytes.LastIndexByte(b[:Chunk], '\n'); i >= 0 {
		return i + 1
	}
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return i + 1
	}
	return len(b)
}

// Flush waits until everything taken before the call is written, or until
// timeout passes, and reports whether it all was. It is for the end of
// the process: a reader that does not read cannot hold it for longer than
// timeout.
func (w *Writer) Flush(timeout time.Duration) bool {
	t := time.NewTimer(timeout)
	defer t.Stop()
	w.mu.Lock()
	target := w.taken
	for w.written < target {
		ch := w.progress
		w.mu.Unlock()
		w.kick()
		select {
		case <-ch:
		case <-t.C:
			return false
		}
		w.mu.Lock()
	}
	w.mu.Unlock()
	return true
}

// Handover stops the drainer from starting another write and returns a
// copy of what is not written yet, with the count of dropped writes not
// yet reported. It is for a live upgrade: the new image writes them first.
// A chunk whose write is blocked when Handover is called is part of what
// it returns; if that write completes before execve, those bytes (whole
// lines, at most Chunk unless one line is longer) appear twice, never
// zero times. Resume undoes Handover when the
// execve fails.
func (w *Writer) Handover() (pending []byte, dropped uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.held = true
	return append([]byte(nil), w.buf[w.off:]...), w.lost
}

// Resume lets the drainer write again after Handover.
func (w *Writer) Resume() {
	w.mu.Lock()
	w.held = false
	w.mu.Unlock()
	w.kick()
}

// Carry takes the bytes and the count of dropped writes that the image
// before a live upgrade handed over. It must be called before the first
// Write, so that they come out first. Bytes beyond the buffer's size are
// cut from the front and counted as one dropped write.
func (w *Writer) Carry(pending []byte, dropped uint64) {
	w.mu.Lock()
	w.lost += dropped
	if len(pending) > w.max {
		pending = pending[len(pending)-w.max:]
		w.lost++
	}
	w.take(pending)
	w.mu.Unlock()
	w.kick()
}

func itoa(n uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		if n /= 10; n == 0 {
			return string(b[i:])
		}
	}
}
