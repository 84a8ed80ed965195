// Package logbuf puts a bounded buffer between respawn's event loop and
// its log output, so that a reader that stops reading (a full pipe, a
// terminal under Ctrl-S, a stuck log driver) can never stall the loop.
//
// A Writer's Write never blocks: it copies p into the buffer whole, or,
// when the buffer cannot take all of p, drops p whole and counts it (an
// empty buffer takes a write of any size). One
// goroutine drains the buffer to the real output. When it has caught up
// after drops, it writes one line saying how many writes were dropped.
package logbuf

import (
	"bytes"
	"io"
	"sync"
	"time"
)

// Writer is an io.Writer that never blocks. It is safe for concurrent use.
type Writer struct {
	out     io.Writer
	max     int
	dropped func(n uint64) []byte // formats the "N dropped" line

	mu       sync.Mutex
	buf      []byte        // taken, not yet handed to the drainer
	lost     uint64        // writes dropped since the last report
	queued   uint64        // writes taken, ever (reports count as taken)
	written  uint64        // writes the drainer has finished writing
	progress chan struct{} // closed and replaced when written grows
	wake     chan struct{} // cap 1: the drainer has work
	spare    []byte
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

// Write takes p whole, or drops it whole if the buffer is full. A write
// larger than the whole buffer (the info dump of thousands of servers) is
// taken when the buffer is empty, or it could never be written at all; so
// the buffer holds at most max bytes, or one such write. Write never
// blocks on the output and always reports len(p), nil: a dropped write is
// counted, not an error of the caller's.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	if len(w.buf)+len(p) > w.max && len(w.buf) > 0 {
		w.lost++
	} else {
		w.buf = append(w.buf, p...)
		w.queued++
	}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return len(p), nil
}

// Dropped is the number of writes dropped and not yet reported.
func (w *Writer) Dropped() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lost
}

// drain writes what is buffered, one batch at a time, for ever.
func (w *Writer) drain() {
	for range w.wake {
		for w.flushOnce() {
		}
	}
}

// flushOnce writes the buffered batch, and the drop report once the
// buffer is empty; it reports whether it wrote anything.
func (w *Writer) flushOnce() bool {
	w.mu.Lock()
	batch, upto := w.buf, w.queued
	if len(batch) == 0 && w.lost > 0 {
		batch = append(batch, w.dropped(w.lost)...)
		w.lost = 0
	}
	w.buf, w.spare = w.spare[:0], nil
	w.mu.Unlock()
	if len(batch) == 0 {
		return false
	}
	writeLines(w.out, batch)
	w.mu.Lock()
	if cap(batch) <= w.max { // keep one buffer for the next batch
		w.spare = batch[:0]
	}
	w.written = upto
	close(w.progress)
	w.progress = make(chan struct{})
	w.mu.Unlock()
	return true
}

// pipeAtomic is PIPE_BUF: a write of up to this many bytes to a pipe is
// all or nothing. A batch is written in whole lines of up to that size, so
// that when the process ends (an exit, a live upgrade's execve) while the
// drainer waits for a slow reader, the output holds no half line for the
// next line to be glued to. A longer line is written alone.
const pipeAtomic = 4096

func writeLines(out io.Writer, b []byte) {
	for len(b) > 0 {
		n := chunk(b)
		if _, err := out.Write(b[:n]); err != nil {
			return // the reader is gone: the rest would fail alike
		}
		b = b[n:]
	}
}

// chunk is how much of b to write at once.
func chunk(b []byte) int {
	if len(b) <= pipeAtomic {
		return len(b)
	}
	if i := bytes.LastIndexByte(b[:pipeAtomic], '\n'); i >= 0 {
		return i + 1
	}
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return i + 1
	}
	return len(b)
}

// Flush waits until everything taken before the call is written, or until
// timeout passes, and reports whether it all was. It is for the ends
// (exit, a live upgrade's execve): a reader that does not read cannot hold
// them for longer than timeout.
func (w *Writer) Flush(timeout time.Duration) bool {
	t := time.NewTimer(timeout)
	defer t.Stop()
	w.mu.Lock()
	target := w.queued
	for w.written < target {
		ch := w.progress
		w.mu.Unlock()
		select {
		case w.wake <- struct{}{}:
		default:
		}
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
