//go:build linux

package main

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"respawn/marshal"
	"respawn/reexec"
)

// The pre-flight check reads the snapshot it is given and answers its
// digest, or says in one line why the restore would not go through.
func TestUpgradeCheck(t *testing.T) {
	server := marshal.Record{Index: 1, Name: "sleep", Argv: []string{"sleep", "1"}, State: 2, Started: true}
	good := &marshal.Snapshot{Records: []marshal.Record{server}, FDs: []marshal.FD{{Role: controlRole, FD: 5}},
		Flags: marshal.Flags{LogFormat: "json", LogLevel: "info"}}
	unknownRole := &marshal.Snapshot{Records: []marshal.Record{server}, FDs: []marshal.FD{{Role: "gpio", FD: 5}}}
	badLevel := &marshal.Snapshot{Records: []marshal.Record{server}, Flags: marshal.Flags{LogLevel: "loud"}}
	tests := []struct {
		name   string
		snap   *marshal.Snapshot // nil: the older form, without --state-fd
		args   []string
		status int
		want   string
	}{
		{name: "digest", snap: good, args: []string{"{", "sleep", "1", "}"}, want: "records=1 digest=" + marshal.Digest(good)},
		{name: "older form", want: "respawn upgrade-check: ok (reads snapshot versions 1 to 1)\n"},
		{name: "role it would not adopt", snap: unknownRole, args: []string{"{", "sleep", "1", "}"}, status: 1, want: `the role "gpio"`},
		{name: "flag it would not take", snap: badLevel, args: []string{"{", "sleep", "1", "}"}, status: 1, want: `--log-level "loud"`},
		{name: "groups it cannot parse", snap: good, args: []string{"{", "}"}, status: 2, want: "empty group"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			argv := []string{"respawn", "--upgrade-check=" + strconv.Itoa(marshal.Version)}
			if tt.snap != nil {
				b, err := marshal.Encode(tt.snap)
				if err != nil {
					t.Fatal(err)
				}
				fd, err := reexec.SealedState(b)
				if err != nil {
					t.Fatal(err)
				}
				argv = append(argv, "--state-fd="+strconv.Itoa(fd))
			}
			var stdout, stderr bytes.Buffer
			status := run(append(argv, tt.args...), &stdout, &stderr)
			out := stdout.String() + stderr.String()
			if status != tt.status || !strings.Contains(out, tt.want) || strings.Count(out, "\n") != 1 {
				t.Errorf("status %d, output %q; want %d and one line with %q", status, out, tt.status, tt.want)
			}
		})
	}
}
