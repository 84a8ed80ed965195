//go:build linux

package test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// A name given with @NAME belongs to that server even when another
// server's program has the same base name: { .../web } { @web ... } named
// the second server web-2 and let `respawnctl stop web` stop the first.
func TestGivenNameBeatsDefaultName(t *testing.T) {
	web := filepath.Join(t.TempDir(), "web")
	if err := os.Symlink(selfBin, web); err != nil {
		t.Fatal(err)
	}
	s, sock := startCtl(t, "--interval=1h",
		"{", web, "helper", "sleep", "}",
		"{", "@web", selfBin, "helper", "sleep", "}")
	s.waitLog(1, msg("ALIVE", "server", 1))
	s.waitLog(1, msg("ALIVE", "server", 2))
	second := s.pidOf(2)
	if out := ctlOK(t, sock, "stop", "web"); !strings.Contains(out, "[2] web ") {
		t.Errorf("stop web said %q, want the second server, named web on the command line", out)
	}
	s.waitLog(1, msg("CREMATED", "server", 2, "pid", second))
	recs := list(t, sock)
	if in := recs["web-2"]; in.Index != 1 || in.State != "ALIVE" {
		t.Errorf("first server: %+v, want [1] web-2 ALIVE", in)
	}
	if code := s.stop(); code != 0 {
		t.Errorf("exit status %d", code)
	}
}

// A name of digits only is refused on the command line however long it
// is: a number too big for an int was taken as a name, which every
// respawnctl command then read as an index, so that it named nothing.
func TestLongNumericNameRefused(t *testing.T) {
	name := strings.Repeat("9", 20)
	file := tempFile(t, "started")
	code, _, stderr := runUsage(t, "--control=none",
		"{", "@"+name, "sh", "-c", "echo started >> "+file, "}")
	if code != 2 || !regexp.MustCompile(`index`).MatchString(stderr) {
		t.Errorf("exit %d, stderr %q; want 2 and a line saying a number reads as an index", code, stderr)
	}
	if l := lines(file); len(l) != 0 {
		t.Errorf("a server was started: %v", l)
	}
}
