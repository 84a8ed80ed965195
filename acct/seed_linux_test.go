//go:build linux

package acct

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/fuzz/FuzzParse with records the kernel writes now")

const seedDir = "testdata/fuzz/FuzzParse"

// TestSeedCorpus checks that every seed of FuzzParse is a whole number of
// real records and parses; with -update it first records new seeds: the
// records of processes ended each way, one file each and one file of all of
// them with a partial record at its end.
func TestSeedCorpus(t *testing.T) {
	if *update {
		writeSeeds(t)
	}
	files, err := filepath.Glob(filepath.Join(seedDir, "*"))
	if err != nil || len(files) < 5 {
		t.Fatalf("%d seeds in %s, want at least 5 (%v): run with -update", len(files), seedDir, err)
	}
	for _, file := range files {
		var b []byte
		text, err := os.ReadFile(file)
		if err == nil {
			_, err = fmt.Sscanf(string(text), "go test fuzz v1\n[]byte(%q)\n", &b)
		}
		recs, rest, perr := ParseAll(nil, b)
		if err != nil || perr != nil || len(recs) == 0 || len(rest) >= Size {
			t.Errorf("%s: %d records, %d bytes left, %v, %v", file, len(recs), len(rest), err, perr)
		}
	}
}

// writeSeeds replaces the seed corpus with records the kernel writes now.
func writeSeeds(t *testing.T) {
	acctTestLock(t)
	path := accountingOn(t)
	e := endProcesses(t, t.TempDir())
	accountingOff(t)
	recs, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	byPid := map[int][]byte{}
	for b := recs; len(b) >= Size; b = b[Size:] {
		r, _, err := Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		byPid[int(r.Pid)] = b[:Size]
	}
	if err := os.RemoveAll(seedDir); err != nil {
		t.Fatal(err)
	}
	pids := map[string]int{"exit3": e.exit3, "sigkill": e.killed, "core": e.core, "nocore": e.noCore, "sleep-nobody": e.sleep}
	all := []byte{}
	for name, pid := range pids {
		writeSeed(t, name, byPid[pid])
		all = append(all, byPid[pid]...)
	}
	writeSeed(t, "all-and-partial", append(all, byPid[e.exit3][:Size/2]...))
}

// writeSeed writes b as the seed named name.
func writeSeed(t *testing.T, name string, b []byte) {
	t.Helper()
	if len(b) == 0 {
		t.Fatalf("no record for seed %s", name)
	}
	if err := os.MkdirAll(seedDir, 0o755); err != nil {
		t.Fatal(err)
	}
	text := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
	if err := os.WriteFile(filepath.Join(seedDir, name), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
