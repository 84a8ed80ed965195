package respawn

import (
	"context"
	"fmt"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

func TestStopTimeoutOf(t *testing.T) {
	tests := []struct {
		name        string
		global, own time.Duration // global 0: not given
		want        time.Duration
	}{
		{name: "default", want: DefaultStopTimeout},
		{name: "global", global: 3 * time.Second, want: 3 * time.Second},
		{name: "own beats global", global: 3 * time.Second, own: 20 * time.Second, want: 20 * time.Second},
		{name: "own at once", global: 3 * time.Second, own: StopAtOnce, want: StopAtOnce},
		{name: "global at once", global: StopAtOnce, want: StopAtOnce},
		{name: "own beats global at once", global: StopAtOnce, own: time.Second, want: time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := quietConfig()
			cfg.StopTimeout = tt.global
			s := New(cfg, []Spec{{Argv: []string{"x"}, Settings: Settings{StopTimeout: tt.own}}})
			if got := s.stopTimeoutOf(s.recs[0]); got != tt.want {
				t.Errorf("stop timeout %v, want %v", got, tt.want)
			}
		})
	}
}

func TestStopSignalOf(t *testing.T) {
	tests := []struct {
		name        string
		own, global syscall.Signal
		want        syscall.Signal
	}{
		{name: "global TERM", global: syscall.SIGTERM, want: syscall.SIGTERM},
		{name: "global QUIT passed on", global: syscall.SIGQUIT, want: syscall.SIGQUIT},
		{name: "own beats TERM", own: syscall.SIGQUIT, global: syscall.SIGTERM, want: syscall.SIGQUIT},
		{name: "own beats QUIT", own: syscall.SIGTERM, global: syscall.SIGQUIT, want: syscall.SIGTERM},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Server{Set: Settings{StopSignal: tt.own}}
			if got := stopSignalOf(r, tt.global); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestEndedClean(t *testing.T) {
	tests := []struct {
		name    string
		last    Exit
		stopSig syscall.Signal
		want    bool
	}{
		{name: "exit 0", last: Exit{Set: true}, want: true},
		{name: "SIGTERM", last: Exit{Signal: syscall.SIGTERM, Set: true}, want: true},
		{name: "its stop signal", last: Exit{Signal: syscall.SIGQUIT, Set: true}, stopSig: syscall.SIGQUIT, want: true},
		{name: "another signal", last: Exit{Signal: syscall.SIGQUIT, Set: true}, stopSig: syscall.SIGUSR1, want: false},
		{name: "not stopped", last: Exit{Signal: syscall.SIGQUIT, Set: true}, want: false},
		{name: "SIGKILL", last: Exit{Signal: syscall.SIGKILL, Set: true}, want: false},
		{name: "exit 1", last: Exit{Code: 1, Set: true}, stopSig: syscall.SIGQUIT, want: false},
		{name: "spawn error", last: Exit{Err: "x", Set: true}, stopSig: syscall.SIGQUIT, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Server{Last: tt.last, stopSig: tt.stopSig}
			if got := r.endedClean(); got != tt.want {
				t.Errorf("endedClean %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNothingCanRun(t *testing.T) {
	tests := []struct {
		name   string
		states []State
		task   State // the state of a task beside them
		want   bool
	}{
		{name: "one buried", states: []State{Buried}, task: Alive, want: true},
		{name: "buried and cremated", states: []State{Cremated, Buried}, task: Alive, want: true},
		{name: "all cremated", states: []State{Cremated, Cremated}, task: Alive, want: false},
		{name: "one alive", states: []State{Buried, Alive}, task: Alive, want: false},
		{name: "one dead, waiting", states: []State{Buried, Dead}, task: Alive, want: false},
		{name: "one unborn", states: []State{Buried, Unborn}, task: Buried, want: false},
		{name: "a buried task alone", states: []State{Cremated}, task: Buried, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var specs []Spec
			for range tt.states {
				specs = append(specs, Spec{Argv: []string{"x"}})
			}
			s := New(quietConfig(), specs)
			s.AddTask("t", true, func(context.Context) error { return nil })
			for i, st := range tt.states {
				s.recs[i].State = st
			}
			s.recs[len(tt.states)].State = tt.task
			if got := s.nothingCanRun(); got != tt.want {
				t.Errorf("nothingCanRun %v, want %v", got, tt.want)
			}
		})
	}
}

func TestBuriedStatus(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{name: "crashed", err: nil, want: ExitUnclean},
		{name: "no such file", err: fmt.Errorf("respawn: cannot execute /x: %w", syscall.ENOENT), want: ExitNotFound},
		{name: "not in PATH", err: fmt.Errorf("respawn: cannot execute x: %w", exec.ErrNotFound), want: ExitNotFound},
		{name: "permission denied", err: fmt.Errorf("respawn: cannot execute /x: %w", syscall.EACCES), want: ExitCannotExecute},
		{name: "exec format error", err: fmt.Errorf("respawn: cannot execute /x: %w", syscall.ENOEXEC), want: ExitCannotExecute},
		{name: "another error", err: fmt.Errorf("respawn: cannot execute /x: %w", syscall.E2BIG), want: ExitUnclean},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (&Server{spawnErr: tt.err}).buriedStatus(); got != tt.want {
				t.Errorf("status %d, want %d", got, tt.want)
			}
		})
	}
}

// dueKills hands out the records whose deadline has passed, drops the
// ones whose process has ended or changed, keeps the rest with the next
// deadline, and keeps the list's rule: a record is in it exactly while
// its killNs is set.
func TestDueKills(t *testing.T) {
	s := New(quietConfig(), []Spec{{Argv: []string{"a"}}, {Argv: []string{"b"}}, {Argv: []string{"c"}}, {Argv: []string{"d"}}})
	for i, r := range s.recs {
		r.State, r.Pid = Alive, 100+i
	}
	a, b, c, d := s.recs[0], s.recs[1], s.recs[2], s.recs[3]
	now := monotonicNs()
	s.armKill(a, now-1)
	s.armKill(b, now+int64(time.Hour))
	s.armKill(c, now-1)
	s.armKill(d, now+int64(time.Minute))
	s.armKill(d, now+int64(time.Hour)) // a later deadline does not replace an earlier one
	c.Pid = 999                        // respawned since: not the process the deadline was for
	due, next := s.dueKills(now)
	if len(due) != 1 || due[0] != a {
		t.Errorf("due %v, want a only", due)
	}
	if next != now+int64(time.Minute) {
		t.Errorf("next deadline %d, want d's, %d", next, now+int64(time.Minute))
	}
	if len(s.stops.kills) != 2 || a.killNs != 0 || c.killNs != 0 || b.killNs == 0 || d.killNs == 0 {
		t.Errorf("list %d long; killNs a=%d b=%d c=%d d=%d", len(s.stops.kills), a.killNs, b.killNs, c.killNs, d.killNs)
	}
	s.armKill(a, now+1) // back in the list once
	s.armKill(a, now+2)
	if len(s.stops.kills) != 3 {
		t.Errorf("list %d long after a is armed twice, want 3", len(s.stops.kills))
	}
	s.stops.timer.Stop()
}
