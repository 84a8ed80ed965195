package marshal

import (
	"strings"
	"testing"
)

// The digest survives the encoding (old image: over what it encoded; new
// image: over what it decoded) and changes with any field a restore uses.
func TestDigest(t *testing.T) {
	for _, tt := range samples {
		t.Run(tt.name, func(t *testing.T) {
			dec, err := Decode(mustEncode(t, tt.s))
			if err != nil {
				t.Fatal(err)
			}
			if a, b := Digest(tt.s), Digest(dec); a != b || !strings.HasPrefix(a, "sha256:") || len(a) != 7+64 {
				t.Fatalf("digest %s before encoding, %s after decoding", a, b)
			}
		})
	}
	base := sample(t, "upgraded")
	for _, tt := range []struct {
		name   string
		change func(s *Snapshot)
	}{
		{"a pid", func(s *Snapshot) { s.Records[0].Pid++ }},
		{"a state", func(s *Snapshot) { s.Records[0].State = stateDead }},
		{"a name", func(s *Snapshot) { s.Records[0].Name += "x" }},
		{"an argument moved", func(s *Snapshot) { s.Records[0].Argv = []string{"/bin/sleepi", "nfinity"} }},
		{"a record less", func(s *Snapshot) { s.Records = s.Records[:len(s.Records)-1] }},
		{"a descriptor role", func(s *Snapshot) { s.FDs = []FD{{Role: "watchdog", FD: MaxFD}} }},
		{"the generation", func(s *Snapshot) { s.Generation++ }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := sample(t, "upgraded")
			s.Records[0].Argv = append([]string(nil), s.Records[0].Argv...)
			tt.change(s)
			if Digest(s) == Digest(base) {
				t.Error("same digest")
			}
		})
	}
}
