package respawn

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"syscall"
	"testing"
	"time"
)

func quietConfig() Config {
	return Config{Interval: time.Hour, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Dump: io.Discard}
}

// rec is one task record under test, with the transitions it published.
type rec struct {
	s       *Supervisor
	r       *Server
	sub     *Subscriber
	seen    []Transition
	cancels int // calls of the task's cancel function
}

// newTaskRecord returns a supervisor holding one task in state st, as if it
// had got there. The task, when started, runs until the supervisor is
// cancelled. The cleanup cancels the supervisor and waits for every task
// goroutine the test started.
func newTaskRecord(t *testing.T, st State) *rec {
	t.Helper()
	s := New(quietConfig(), nil)
	s.AddTask("t", true, func(ctx context.Context) error { <-ctx.Done(); return nil })
	x := &rec{s: s, r: s.recs[0], sub: s.Subscribe(16)}
	x.r.State = st
	x.r.Started = st != Unborn
	x.r.cancel = func() { x.cancels++ }
	t.Cleanup(func() {
		s.cancel()
		for _, tr := range x.transitions() {
			if tr.To != Alive {
				continue
			}
			select {
			case <-s.taskDone:
			case <-time.After(10 * time.Second):
				t.Error("a task goroutine did not end")
				return
			}
		}
	})
	return x
}

// transitions returns every transition published so far.
func (x *rec) transitions() []Transition {
	for len(x.sub.C) > 0 {
		x.seen = append(x.seen, <-x.sub.C)
	}
	return x.seen
}

func (x *rec) path() []State {
	var out []State
	for _, tr := range x.transitions() {
		out = append(out, tr.To)
	}
	return out
}

// TestStateTable fires every event in every state at a task record and
// checks the table: the resulting state, the transitions published on the
// way, and that an empty cell changes nothing.
func TestStateTable(t *testing.T) {
	type outcome struct {
		to       State
		path     []State // transitions published
		restarts int
		stopping bool
	}
	cells := map[string]outcome{
		"UNBORN/start":         {to: Alive, path: []State{Alive}},
		"UNBORN/stop":          {to: Cremated, path: []State{Cremated}, stopping: true},
		"ALIVE/exit-clean":     {to: Cremated, path: []State{Cremated}},
		"ALIVE/exit-fast":      {to: Dead, path: []State{Dead}},
		"ALIVE/exit-fast-last": {to: Buried, path: []State{Buried}},
		"ALIVE/exit-short":     {to: Dead, path: []State{Dead}},
		"ALIVE/exit-late":      {to: Alive, path: []State{Dead, Alive}, restarts: 1},
		"ALIVE/stop":           {to: Alive, stopping: true},
		"ALIVE/exit-restart":   {to: Alive, path: []State{Dead, Alive}, restarts: 1},
		"DEAD/start":           {to: Alive, path: []State{Alive}, restarts: 1},
		"DEAD/respawn":         {to: Alive, path: []State{Alive}, restarts: 1},
		"DEAD/stop":            {to: Cremated, path: []State{Cremated}, stopping: true},
		"BURIED/start":         {to: Alive, path: []State{Alive}, restarts: 1},
		"BURIED/revive":        {to: Alive, path: []State{Alive}, restarts: 1},
		"BURIED/stop":          {to: Cremated, path: []State{Cremated}, stopping: true},
		"CREMATED/start":       {to: Alive, path: []State{Alive}, restarts: 1},
	}
	used := 0
	for st := Unborn; st < nStates; st++ {
		for ev := event(0); ev < nEvents; ev++ {
			name := st.String() + "/" + ev.String()
			want, ok := cells[name]
			if ok {
				used++
			}
			t.Run(name, func(t *testing.T) {
				rc := newTaskRecord(t, st)
				s, r := rc.s, rc.r
				x := Exit{}
				if ev == evExitClean || ev == evExitFast || ev == evExitFastLast || ev == evExitShort || ev == evExitLate || ev == evExitRestart {
					x = Exit{Err: "boom", Set: true}
				}
				applied := s.fire(r, ev, x)
				if applied != ok {
					t.Fatalf("fire applied = %v, want %v", applied, ok)
				}
				if !ok {
					if r.State != st || len(rc.transitions()) != 0 || r.Restarts != 0 {
						t.Fatalf("an empty cell changed the record: state %v, %d transitions, %d restarts", r.State, len(rc.transitions()), r.Restarts)
					}
					return
				}
				if r.State != want.to {
					t.Errorf("state %v, want %v", r.State, want.to)
				}
				if got := rc.path(); !equalStates(got, want.path) {
					t.Errorf("published %v, want %v", got, want.path)
				}
				if r.Restarts != want.restarts {
					t.Errorf("restarts %d, want %d", r.Restarts, want.restarts)
				}
				if r.stopping != want.stopping {
					t.Errorf("stopping %v, want %v", r.stopping, want.stopping)
				}
				if want.stopping && st == Alive && rc.cancels != 1 {
					t.Errorf("stop cancelled the task %d times, want 1", rc.cancels)
				}
				if x.Set && want.to != Alive && r.Last != x {
					t.Errorf("last exit %v, want %v", r.Last, x)
				}
			})
		}
	}
	if used != len(cells) {
		t.Fatalf("the table of expectations names %d cells that do not exist", len(cells)-used)
	}
	// The expectations and the machine agree on which cells are filled.
	for st := Unborn; st < nStates; st++ {
		for ev := event(0); ev < nEvents; ev++ {
			_, want := cells[st.String()+"/"+ev.String()]
			if got := machine[st][ev] != nil; got != want {
				t.Errorf("machine[%v][%v] filled = %v, want %v", st, ev, got, want)
			}
		}
	}
}

func equalStates(a, b []State) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestClassify(t *testing.T) {
	const interval = time.Second
	const start = int64(1e12)
	early := start + int64(interval/2)
	late := start + int64(interval) // an interval exactly is late
	tests := []struct {
		name        string
		x           Exit
		now         int64
		supStopping bool
		rStopping   bool
		retries     int  // the global --retries
		own         *int // the server's own --retries
		fast        int  // retries used
		task        bool
		want        event
	}{
		{name: "exit 0 early", x: Exit{Code: 0, Set: true}, now: early, want: evExitClean},
		{name: "exit 0 late", x: Exit{Code: 0, Set: true}, now: late, want: evExitClean},
		{name: "SIGTERM early", x: Exit{Signal: syscall.SIGTERM, Set: true}, now: early, want: evExitClean},
		{name: "SIGINT late", x: Exit{Signal: syscall.SIGINT, Set: true}, now: late, want: evExitClean},
		{name: "SIGKILL early, no retries", x: Exit{Signal: syscall.SIGKILL, Set: true}, now: early, want: evExitFastLast},
		{name: "SIGKILL late", x: Exit{Signal: syscall.SIGKILL, Set: true}, now: late, want: evExitLate},
		{name: "SIGSEGV with core early", x: Exit{Signal: syscall.SIGSEGV, Core: true, Set: true}, now: early, want: evExitFastLast},
		{name: "exit 1 early", x: Exit{Code: 1, Set: true}, now: early, want: evExitFastLast},
		{name: "exit 1 late", x: Exit{Code: 1, Set: true}, now: late + 1, want: evExitLate},
		{name: "task error early", x: Exit{Err: "e", Set: true}, now: early, want: evExitFastLast},
		{name: "task error late", x: Exit{Err: "e", Set: true}, now: late, want: evExitLate},
		{name: "SIGKILL while the supervisor stops", x: Exit{Signal: syscall.SIGKILL, Set: true}, now: early, supStopping: true, want: evExitClean},
		{name: "exit 3 while the supervisor stops", x: Exit{Code: 3, Set: true}, now: late, supStopping: true, want: evExitClean},
		{name: "SIGKILL of a server asked to stop", x: Exit{Signal: syscall.SIGKILL, Set: true}, now: early, rStopping: true, want: evExitClean},
		{name: "first fast death of 3 retries", x: Exit{Code: 1, Set: true}, now: early, retries: 3, want: evExitFast},
		{name: "third retry dies fast", x: Exit{Code: 1, Set: true}, now: early, retries: 3, fast: 2, want: evExitFast},
		{name: "fourth fast death in a row", x: Exit{Code: 1, Set: true}, now: early, retries: 3, fast: 3, want: evExitFastLast},
		{name: "late death with retries spent", x: Exit{Code: 1, Set: true}, now: late, retries: 3, fast: 3, want: evExitLate},
		{name: "clean exit with retries", x: Exit{Set: true}, now: early, retries: 3, want: evExitClean},
		{name: "own --retries=0 beats the global", x: Exit{Code: 1, Set: true}, now: early, retries: 3, own: ptr(0), want: evExitFastLast},
		{name: "own --retries=5 beats the global", x: Exit{Code: 1, Set: true}, now: early, retries: 3, own: ptr(5), fast: 4, want: evExitFast},
		{name: "a task has no retries", x: Exit{Err: "e", Set: true}, now: early, retries: 3, task: true, want: evExitFastLast},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(Config{Interval: interval, Retries: tt.retries}, nil)
			s.stopping = tt.supStopping
			r := &Server{StartNs: start, stopping: tt.rStopping, fast: tt.fast}
			if tt.own != nil {
				r.Set.Retries, r.Set.RetriesSet = *tt.own, true
			}
			if tt.task {
				r.task = func(context.Context) error { return nil }
			}
			if got := s.classify(r, tt.x, tt.now); got != tt.want {
				t.Errorf("classify = %v, want %v", got, tt.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestExit(t *testing.T) {
	tests := []struct {
		name  string
		x     Exit
		str   string
		clean bool
	}{
		{name: "not ended", x: Exit{}, str: "-"},
		{name: "exit 0", x: Exit{Set: true}, str: "exit 0", clean: true},
		{name: "exit 3", x: Exit{Code: 3, Set: true}, str: "exit 3"},
		{name: "SIGTERM", x: Exit{Signal: syscall.SIGTERM, Set: true}, str: "signal SIGTERM", clean: true},
		{name: "SIGINT", x: Exit{Signal: syscall.SIGINT, Set: true}, str: "signal SIGINT", clean: true},
		{name: "SIGKILL", x: Exit{Signal: syscall.SIGKILL, Set: true}, str: "signal SIGKILL"},
		{name: "SIGQUIT", x: Exit{Signal: syscall.SIGQUIT, Set: true}, str: "signal SIGQUIT"},
		{name: "core dump", x: Exit{Signal: syscall.SIGSEGV, Core: true, Set: true}, str: "signal SIGSEGV (core dumped)"},
		{name: "unnamed signal", x: Exit{Signal: syscall.Signal(77), Set: true}, str: "signal 77"},
		{name: "spawn error", x: Exit{Err: "cannot execute x", Set: true}, str: "error: cannot execute x"},
		{name: "error wins over a code 0", x: Exit{Code: 0, Err: "e", Set: true}, str: "error: e"},
		{name: "unset with a code is not an ending", x: Exit{Code: 0}, str: "-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.x.String(); got != tt.str {
				t.Errorf("String() = %q, want %q", got, tt.str)
			}
			if got := tt.x.Clean(); got != tt.clean {
				t.Errorf("Clean() = %v, want %v", got, tt.clean)
			}
		})
	}
}

func TestExitOf(t *testing.T) {
	tests := []struct {
		name string
		ws   syscall.WaitStatus
		want Exit
	}{
		{name: "exit 0", ws: 0, want: Exit{Set: true}},
		{name: "exit 2", ws: 2 << 8, want: Exit{Code: 2, Set: true}},
		{name: "SIGKILL", ws: syscall.WaitStatus(syscall.SIGKILL), want: Exit{Signal: syscall.SIGKILL, Set: true}},
		{name: "SIGABRT with core", ws: syscall.WaitStatus(syscall.SIGABRT) | 0x80, want: Exit{Signal: syscall.SIGABRT, Core: true, Set: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := exitOf(tt.ws); got != tt.want {
				t.Errorf("exitOf(%#x) = %+v, want %+v", uint32(tt.ws), got, tt.want)
			}
		})
	}
}

func TestStateNames(t *testing.T) {
	for st := Unborn; st < nStates; st++ {
		got, ok := ParseState(st.String())
		if !ok || got != st {
			t.Errorf("ParseState(%q) = %v, %v", st.String(), got, ok)
		}
	}
	if _, ok := ParseState("alive"); ok {
		t.Error("ParseState accepts lower case")
	}
	if got := State(9).String(); got != "STATE(9)" {
		t.Errorf("State(9) = %q", got)
	}
}

// A task's function decides its ending: nil cremates, an error or a panic
// soon after the start buries, with the error or panic as the last exit.
// SIGUSR2's revive starts the buried ones again; the supervisor ends on
// shutdown.
func TestTasksUnderRun(t *testing.T) {
	s := New(quietConfig(), nil)
	s.AddTask("nil", true, func(ctx context.Context) error { return nil })
	s.AddTask("error", true, func(ctx context.Context) error { return errors.New("task broke") })
	s.AddTask("panic", true, func(ctx context.Context) error { panic("task panicked") })
	s.AddTask("runs", true, func(ctx context.Context) error { <-ctx.Done(); return nil })
	code := make(chan int, 1)
	go func() { code <- s.Run() }()
	want := map[string]State{"nil": Cremated, "error": Buried, "panic": Buried, "runs": Alive}
	var got map[string]Info
	deadline := time.Now().Add(10 * time.Second)
	for {
		got = map[string]Info{}
		s.Do(context.Background(), func(s *Supervisor) {
			for _, in := range s.Snapshot().Tasks {
				got[in.Name] = in
			}
		})
		ok := true
		for n, st := range want {
			ok = ok && got[n].State == st.String()
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("tasks did not settle: %+v", got)
		}
		time.Sleep(time.Millisecond)
	}
	if !strings.Contains(got["error"].LastExit, "task broke") {
		t.Errorf("error task's last exit %q", got["error"].LastExit)
	}
	if !strings.Contains(got["panic"].LastExit, "panic: task panicked") {
		t.Errorf("panicking task's last exit %q", got["panic"].LastExit)
	}
	var revived int
	s.Do(context.Background(), func(s *Supervisor) { revived, _ = s.Revive("") })
	if revived != 2 {
		t.Errorf("revived %d, want 2", revived)
	}
	s.Do(context.Background(), func(s *Supervisor) { s.shutdown(syscall.SIGTERM) })
	select {
	case c := <-code:
		if c != ExitClean {
			t.Errorf("Run = %d, want %d: tasks do not count in the exit status", c, ExitClean)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after shutdown")
	}
}

// TestPacing follows a record that keeps dying soon after its start: the
// (ALIVE, exit-short) cell leaves it DEAD with a respawn due after a
// delay that doubles, the loop's timer fires the (DEAD, respawn) cell
// only once that delay has passed, and a life of paceFree resets it.
func TestPacing(t *testing.T) {
	rc := newTaskRecord(t, Alive)
	s, r := rc.s, rc.r
	s.cfg.Interval = time.Nanosecond
	for i, want := range []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond} {
		r.StartNs = monotonicNs()
		x := Exit{Err: "boom", Set: true}
		if ev := s.classify(r, x, monotonicNs()); ev != evExitShort {
			t.Fatalf("death %d classified %v, want exit-short", i+1, ev)
		}
		before := monotonicNs()
		s.fire(r, evExitShort, x)
		if r.State != Dead || len(s.due) != 1 || s.dueC == nil {
			t.Fatalf("death %d: state %v, %d due, timer armed %v", i+1, r.State, len(s.due), s.dueC != nil)
		}
		if got := time.Duration(r.dueNs - before); got < want || got > want+time.Second {
			t.Fatalf("death %d: respawn due in %v, want %v", i+1, got, want)
		}
		s.respawnDue() // too early: stays DEAD, timer armed again
		if r.State != Dead || s.dueC == nil {
			t.Fatalf("death %d: respawned before its delay", i+1)
		}
		<-s.dueC
		s.respawnDue()
		if r.State != Alive || len(s.due) != 0 || s.dueC != nil {
			t.Fatalf("death %d: after the delay state %v, %d due, timer armed %v", i+1, r.State, len(s.due), s.dueC != nil)
		}
	}
	r.StartNs = monotonicNs() - int64(paceFree)
	if ev := s.classify(r, Exit{Err: "boom", Set: true}, monotonicNs()); ev != evExitLate {
		t.Fatalf("a life of paceFree classified %v, want exit-late", ev)
	}
	s.fire(r, evExitLate, Exit{Err: "boom", Set: true})
	if r.short != 0 || r.State != Alive {
		t.Fatalf("after a long life: short %d, state %v", r.short, r.State)
	}
}

// A DEAD record waiting for its respawn is not respawned once the
// supervisor stops, nor after an operator stopped it.
func TestPacedRespawnDropped(t *testing.T) {
	for _, name := range []string{"shutdown", "operator stop"} {
		t.Run(name, func(t *testing.T) {
			rc := newTaskRecord(t, Alive)
			s, r := rc.s, rc.r
			r.StartNs = monotonicNs()
			s.fire(r, evExitShort, Exit{Err: "boom", Set: true})
			if name == "shutdown" {
				s.stopping = true
			} else {
				s.fire(r, evStop, Exit{})
			}
			<-s.dueC
			s.respawnDue()
			if r.State == Alive || len(s.due) != 0 || s.dueC != nil || r.dueNs != 0 {
				t.Fatalf("state %v, %d due, timer armed %v", r.State, len(s.due), s.dueC != nil)
			}
		})
	}
}

func TestPaceDelay(t *testing.T) {
	tests := []struct {
		name string
		n    int
		want time.Duration
	}{
		{"first", 1, 10 * time.Millisecond},
		{"second", 2, 20 * time.Millisecond},
		{"seventh", 7, 640 * time.Millisecond},
		{"eighth caps", 8, time.Second},
		{"many", 1 << 30, time.Second},
	}
	for _, tt := range tests {
		if got := paceDelay(tt.n); got != tt.want {
			t.Errorf("%s: paceDelay(%d) = %v, want %v", tt.name, tt.n, got, tt.want)
		}
	}
}
