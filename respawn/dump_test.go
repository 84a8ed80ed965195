package respawn

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
)

// dumpSupervisor is a supervisor of n servers as a long-running one looks:
// alive, restarted, with a last exit and a typical command line.
func dumpSupervisor(n int) *Supervisor {
	specs := make([]Spec, n)
	for i := range specs {
		specs[i] = Spec{Argv: []string{"/usr/local/bin/service", "--config", fmt.Sprintf("/etc/service/%d.conf", i), "--respawn"}}
	}
	s := New(quietConfig(), specs)
	for i, r := range s.recs {
		r.State, r.Pid, r.Started, r.Restarts = Alive, 1000+i, true, i%3
		r.StartNs, r.StartRT = monotonicNs(), realtimeNs()
		r.Last = Exit{Set: true, Code: 1}
	}
	return s
}

func TestWriteText(t *testing.T) {
	s := dumpSupervisor(2)
	s.recs[1].Argv = []string{"sh", "-c", "echo 'hi' there"}
	s.recs[1].Last = Exit{Set: true, Signal: 9}
	var b bytes.Buffer
	if err := s.Snapshot().WriteText(&b); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(b.String(), "\n")
	if !strings.HasPrefix(lines[0], "respawn info dump at ") || lines[len(lines)-2] != "end of info dump" {
		t.Fatalf("dump not framed:\n%s", b.String())
	}
	for _, want := range []string{
		"servers: 2  alive: 2  dead: 0  buried: 0  cremated: 0  unborn: 0",
		`  [1] service pid=1000 state=ALIVE started=`,
		` restarts=0 last="exit 1" cmd: /usr/local/bin/service --config /etc/service/0.conf --respawn`,
		`  [2] service-2 pid=1001 state=ALIVE started=`,
		` restarts=1 last="signal SIGKILL" cmd: sh -c 'echo '\''hi'\'' there'`,
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("dump lacks %q:\n%s", want, b.String())
		}
	}
}

func BenchmarkWriteText1000(b *testing.B) {
	s := dumpSupervisor(1000)
	for b.Loop() {
		s.view = nil // as after a change of state
		if err := s.Snapshot().WriteText(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

// A newline in a name or an argument does not forge a line of the dump.
func TestWriteTextEscapes(t *testing.T) {
	s := dumpSupervisor(2)
	s.recs[0].Name = "a\n  [9] forged"
	s.recs[1].Argv = []string{"sleep", "\n  [2] fake pid=1 state=ALIVE", "\x1b[2J"}
	var b bytes.Buffer
	if err := s.Snapshot().WriteText(&b); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 4+2+1 {
		t.Fatalf("dump of 2 servers is %d lines:\n%s", len(lines), b.String())
	}
	for _, want := range []string{`  [1] "a\n  [9] forged" pid=1000 `, ` cmd: sleep $'\n  [2] fake pid=1 state=ALIVE' $'\x1b[2J'`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("dump lacks %q:\n%s", want, b.String())
		}
	}
}
