package respawn

import (
	"context"
	"slices"
	"testing"
)

func TestSplitSystemdEnv(t *testing.T) {
	for _, tc := range []struct {
		name             string
		environ          []string
		wantRest, wantNV []string
	}{
		{name: "none", environ: []string{"PATH=/bin", "HOME=/"}, wantRest: []string{"PATH=/bin", "HOME=/"}},
		{
			name:     "all three",
			environ:  []string{"NOTIFY_SOCKET=/run/systemd/notify", "PATH=/bin", "WATCHDOG_USEC=30000000", "WATCHDOG_PID=7", "LANG=C"},
			wantRest: []string{"PATH=/bin", "LANG=C"},
			wantNV:   []string{"NOTIFY_SOCKET=/run/systemd/notify", "WATCHDOG_USEC=30000000", "WATCHDOG_PID=7"},
		},
		{name: "a prefix is another name", environ: []string{"NOTIFY_SOCKETS=x", "WATCHDOG_USEC_X=1"}, wantRest: []string{"NOTIFY_SOCKETS=x", "WATCHDOG_USEC_X=1"}},
		{name: "empty value", environ: []string{"NOTIFY_SOCKET="}, wantNV: []string{"NOTIFY_SOCKET="}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rest, nv := splitSystemdEnv(tc.environ)
			if !slices.Equal(rest, tc.wantRest) || !slices.Equal(nv, tc.wantNV) {
				t.Fatalf("splitSystemdEnv = %q, %q; want %q, %q", rest, nv, tc.wantRest, tc.wantNV)
			}
		})
	}
}

func TestSystemdStatusLine(t *testing.T) {
	s := New(Config{}, []Spec{{Argv: []string{"a"}}, {Argv: []string{"b"}}, {Argv: []string{"c"}}, {Argv: []string{"d"}}})
	s.AddTask("t", false, func(context.Context) error { return nil })
	s.recs[0].State, s.recs[1].State, s.recs[2].State = Alive, Buried, Alive
	s.recs[4].State = Buried // a task: not counted
	want := "STATUS=4 servers: 2 alive, 0 dead, 1 buried, 0 cremated, 1 unborn"
	if got := s.systemdStatusLine(); got != want {
		t.Fatalf("systemdStatusLine = %q, want %q", got, want)
	}
}
