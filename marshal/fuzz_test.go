package marshal

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the fuzz seed corpus from the samples")

// seedFile is the go test fuzz v1 file that holds b as a FuzzDecode input.
func seedFile(b []byte) []byte {
	return fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", b)
}

// TestSeedCorpus keeps testdata/fuzz/FuzzDecode made of real snapshots of
// the current encoding. After a change to the format, run
// go test ./marshal -run TestSeedCorpus -update.
func TestSeedCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzDecode")
	for _, tt := range samples {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, "snapshot-"+tt.name)
			want := seedFile(mustEncode(t, tt.s))
			if *update {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, want, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := os.ReadFile(path)
			if err != nil || string(got) != string(want) {
				t.Fatalf("%s is not the current encoding of the sample (%v); run with -update", path, err)
			}
		})
	}
}

// FuzzDecode checks that Decode never panics and that whatever it accepts
// survives Encode and Decode unchanged.
func FuzzDecode(f *testing.F) {
	for _, tt := range samples {
		f.Add(mustEncode(f, tt.s))
	}
	f.Add([]byte{0xdd, 0x7f, 0xff, 0xff, 0xff})
	f.Add(head(2).str("recs").put(0xdd, 0x7f, 0xff, 0xff, 0xff).Bytes())
	f.Add(head(2).str("recs").arrayLen(1).mapLen(2).str("i").int(1).str("argv").arrayLen(1).str("/bin/sh").Bytes())
	for _, edit := range []func(r map[string]any){
		func(r map[string]any) { r["state"] = 257 },
		func(r map[string]any) { r["restarts"] = int64(1<<63 - 1) },
		func(r map[string]any) { r["pgid"] = 1 },
		func(r map[string]any) { r["proc_start"] = uint64(1<<64 - 1) },
		func(r map[string]any) { r["fast"] = MaxFast + 1 },
	} {
		m := rawMap(f, sample(f, "servers"))
		edit(m["recs"].([]any)[0].(map[string]any))
		f.Add(encodeRaw(f, m))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Decode(b)
		if errors.Is(err, errPanic) {
			t.Fatal(err)
		}
		if err != nil {
			return
		}
		checkAccepted(t, s)
		b2, err := Encode(s)
		if err != nil {
			t.Fatalf("Encode of a decoded snapshot: %v", err)
		}
		s2, err := Decode(b2)
		if err != nil {
			t.Fatalf("Decode of a re-encoded snapshot: %v", err)
		}
		s.Version = Version // Encode writes the current version
		if !reflect.DeepEqual(s, s2) {
			t.Fatalf("changed by Encode and Decode:\nbefore %+v\nafter  %+v", s, s2)
		}
	})
}

// checkAccepted fails t if s, which Decode accepted, holds what the
// supervisor must never be handed: a state it has no name for, a number
// its next upgrade would overflow, a group it must not signal, or two
// records of one process.
func checkAccepted(t *testing.T, s *Snapshot) {
	if s.Generation >= MaxGeneration+1 {
		t.Fatalf("generation %d accepted", s.Generation)
	}
	pids := map[int]bool{}
	for _, r := range s.Records {
		switch {
		case r.State < 0 || r.State >= numStates:
			t.Fatalf("state %d accepted", r.State)
		case r.Restarts > MaxRestarts:
			t.Fatalf("restarts %d accepted", r.Restarts)
		case r.Pgid == 1 || r.State == stateAlive && !r.Task && (r.Pgid == 0 || r.ProcStart == 0):
			t.Fatalf("ALIVE record with pgid %d, proc start %d accepted", r.Pgid, r.ProcStart)
		case r.Pid != 0 && pids[r.Pid]:
			t.Fatalf("pid %d accepted twice", r.Pid)
		}
		pids[r.Pid] = true
	}
}
