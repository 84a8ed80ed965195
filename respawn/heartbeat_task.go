package respawn

import (
	"context"
	"syscall"

	"respawn/heartbeat"
)

// run is the task: make the monitor (checking the directory), hand it
// the registrants a live upgrade carried, and run it until the context
// ends. A directory that cannot be used buries the task at once: no retry
// mends it until an operator does (then SIGUSR2 or respawnctl revive).
func (b *beater) run(s *Supervisor) TaskFunc {
	return func(ctx context.Context) error {
		b.starting.Lock()
		m, err := heartbeat.New(heartbeat.Config{Dir: b.cfg.Dir, Log: s.log})
		if err == nil {
			if h := b.inherited; h != nil {
				m.Adopt(*h)
			}
			b.m.Store(m)
		} else {
			b.closeInherited()
		}
		b.inherited = nil
		b.starting.Unlock()
		if err != nil {
			return permanentError{err}
		}
		defer b.m.Store(nil)
		return m.Run(ctx)
	}
}

// closeInherited closes the descriptors of registrants no monitor will
// take over.
func (b *beater) closeInherited() {
	if b.inherited == nil {
		return
	}
	for _, k := range b.inherited.Registrants {
		syscall.Close(k.FIFO)
		syscall.Close(k.PidFD)
	}
}
