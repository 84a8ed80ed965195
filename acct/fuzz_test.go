package acct

import (
	"strings"
	"testing"
)

// FuzzParse feeds Parse and ParseAll any bytes; the seed corpus in
// testdata/fuzz/FuzzParse holds real records written by the kernel (see
// TestSeedCorpus).
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		r, n, err := Parse(b)
		if err == nil {
			checkParsed(t, r, n)
		}
		recs, rest, err := ParseAll(nil, b)
		if len(recs)*Size+len(rest) != len(b) {
			t.Fatalf("%d records and %d bytes left of %d", len(recs), len(rest), len(b))
		}
		if err == nil && len(rest) >= Size {
			t.Fatalf("%d bytes left without an error", len(rest))
		}
	})
}

// checkParsed checks what holds for any record Parse accepts.
func checkParsed(t *testing.T, r Record, n int) {
	t.Helper()
	if n != Size || (r.Version != 2 && r.Version != 3) {
		t.Fatalf("size %d version %d", n, r.Version)
	}
	if strings.IndexByte(r.Comm, 0) >= 0 || len(r.Comm) > 17 {
		t.Fatalf("comm %q", r.Comm)
	}
	if r.Etime < 0 || r.Utime < 0 || r.Stime < 0 {
		t.Fatalf("negative time in %+v", r)
	}
}
