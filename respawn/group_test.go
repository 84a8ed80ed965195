package respawn

import (
	"context"
	"testing"
)

func TestGroup(t *testing.T) {
	tests := []struct {
		name string
		r    Server
		want int
		ok   bool
	}{
		{name: "leader of its own", r: Server{State: Alive, Pid: 42, Pgid: 42}, want: 42, ok: true},
		{name: "in another group", r: Server{State: Alive, Pid: 42, Pgid: 7}},
		{name: "group 1", r: Server{State: Alive, Pid: 42, Pgid: 1}},
		{name: "group 0", r: Server{State: Alive, Pid: 42}},
		{name: "pid 1 as its own group", r: Server{State: Alive, Pid: 1, Pgid: 1}},
		{name: "not alive", r: Server{State: Dead, Pid: 42, Pgid: 42}},
		{name: "task", r: Server{State: Alive, Pid: 42, Pgid: 42, task: func(context.Context) error { return nil }}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pg, ok := tt.r.group()
			if pg != tt.want || ok != tt.ok {
				t.Errorf("group() = %d, %v, want %d, %v", pg, ok, tt.want, tt.ok)
			}
		})
	}
}
