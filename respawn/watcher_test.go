package respawn

import (
	"context"
	"testing"
	"time"
)

// TestWatchPauseAfterGiveUp: a live upgrade's pauseWatch waits a second
// for the reader; if the reader comes to its pause after that (a goroutine
// descheduled that long, on a loaded machine), nobody takes its answer any
// more: it must go on reading, not block until respawn ends. The loop's
// giving up is the resume it sends (resumeWatch).
func TestWatchPauseAfterGiveUp(t *testing.T) {
	w := &watcher{paused: make(chan struct{}), resume: make(chan struct{}, 1)}
	w.resume <- struct{}{}
	done := make(chan bool, 1)
	go func() { done <- w.pause(context.Background()) }()
	select {
	case ok := <-done:
		if !ok {
			t.Error("pause returned false: the reader would end")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the reader is stuck in its pause with nobody to take its answer")
	}
}
