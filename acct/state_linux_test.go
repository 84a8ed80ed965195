//go:build linux

package acct

import "testing"

// TestCheckStateBounds checks the bounds Adopt puts on a snapshot's
// state before it touches a file: a forged backlog of shadow files
// (Oldest far below Seq) would have the gc and Stop go through every
// name, holding the mutex the event loop takes at each death.
func TestCheckStateBounds(t *testing.T) {
	d := newDaemon(withDefaults(Config{Dir: "/run"}))
	for _, tc := range []struct {
		name string
		st   State
		ok   bool
	}{
		{"fresh", State{Dir: "/run"}, true},
		{"another directory", State{Dir: "/tmp"}, false},
		{"oldest past seq", State{Dir: "/run", Seq: 1, Oldest: 2}, false},
		{"backlog at the bound", State{Dir: "/run", Seq: maxBacklog + 5, Oldest: 5}, true},
		{"backlog past the bound", State{Dir: "/run", Seq: 1 << 40}, false},
		{"offset in a record", State{Dir: "/run", SourceOff: Size + 1}, false},
		{"shadow records past the file", State{Dir: "/run", ShadowRecs: MaxShadowRec + 1}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := d.checkState(tc.st); (err == nil) != tc.ok {
				t.Errorf("checkState(%+v) = %v; want ok %t", tc.st, err, tc.ok)
			}
		})
	}
}
