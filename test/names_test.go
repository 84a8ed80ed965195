//go:build linux

package test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// An index is never shadowed by a name: with a first server whose program
// is a file named "2", `respawnctl stop 2` stops the second server (it
// stopped the first one, found by name, before default names were made
// non-numeric). The first server is named "_2".
func TestNumericProgramNameIsNoIndex(t *testing.T) {
	two := filepath.Join(t.TempDir(), "2")
	if err := os.Symlink(selfBin, two); err != nil {
		t.Fatal(err)
	}
	s, sock := startCtl(t, "--interval=1h",
		"{", two, "helper", "sleep", "}",
		"{", "@web", selfBin, "helper", "sleep", "}")
	s.waitLog(1, msg("ALIVE", "server", 1))
	s.waitLog(1, msg("ALIVE", "server", 2))
	first, second := s.pidOf(1), s.pidOf(2)
	if out := ctlOK(t, sock, "stop", "2"); !strings.Contains(out, "[2] web ") {
		t.Errorf("stop 2 said %q, want the second server, web", out)
	}
	s.waitLog(1, msg("CREMATED", "server", 2, "pid", second))
	recs := list(t, sock)
	if in := recs["_2"]; in.Index != 1 || in.State != "ALIVE" || in.Pid != first {
		t.Errorf("first server after stop 2: %+v, want [1] _2 ALIVE pid %d", in, first)
	}
	if _, ok := recs["2"]; ok {
		t.Errorf("a record is named 2: %+v", recs["2"])
	}
	if out := ctlOK(t, sock, "status", "_2"); !regexp.MustCompile(`(?m)^index: +1$`).MatchString(out) {
		t.Errorf("status _2 said %q", out)
	}
	if code := s.stop(); code != 0 {
		t.Errorf("exit status %d", code)
	}
}
