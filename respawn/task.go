package respawn

import (
	"context"
	"fmt"
	"runtime/debug"
)

// taskExit is a task's goroutine reporting that its function returned.
type taskExit struct {
	r   *Server
	err error
}

// startTask runs r's function on a new goroutine with a context that is
// cancelled when the supervisor shuts down or an operator stops r.
func (s *Supervisor) startTask(r *Server) {
	ctx, cancel := context.WithCancel(s.ctx)
	r.cancel = cancel
	r.StartNs, r.StartRT = monotonicNs(), realtimeNs()
	go func() {
		err := callTask(ctx, r.task)
		cancel()
		s.taskDone <- taskExit{r: r, err: err}
	}()
}

// callTask calls fn, turning a panic into an error.
func callTask(ctx context.Context, fn TaskFunc) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
		}
	}()
	return fn(ctx)
}

func (s *Supervisor) onTaskExit(te taskExit) {
	if w := s.watch; w != nil && te.r == w.task {
		s.dropFD(WatchRole) // closed by the task as it ended
	}
	if w := s.wd; w != nil && te.r == w.task {
		s.watchdogEnded()
	}
	x := Exit{Set: true}
	if te.err != nil {
		x.Err = te.err.Error()
		te.r.permanent = isPermanent(te.err)
	}
	if te.r.State == Alive {
		s.fire(te.r, s.classify(te.r, x, monotonicNs()), x)
	}
}
