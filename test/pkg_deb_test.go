//go:build linux

package test

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDebInstallRemove builds the package with make deb, installs it with
// dpkg -i on this machine, runs the installed respawn, finds both pages
// with man, checks the example unit with systemd-analyze verify, then
// removes and purges it and checks that the machine is as it was: every
// file and directory the package brought is gone, and dpkg knows nothing
// of it.
func TestDebInstallRemove(t *testing.T) {
	if out, err := exec.Command("dpkg-query", "-W", "respawn").CombinedOutput(); err == nil {
		t.Fatalf("a respawn package is installed here already (%s): this test installs and removes its own", bytes.TrimSpace(out))
	}
	want := gitDescribe(t)
	dir := t.TempDir()
	runMake(t, "deb", "BIN="+dir, "DEB_COMPRESSION=gzip") // xz takes half a minute more on a busy machine
	debs, _ := filepath.Glob(filepath.Join(dir, "respawn_*.deb"))
	if len(debs) != 1 {
		t.Fatalf("make deb made %q, want one respawn_*.deb", debs)
	}
	arch := strings.TrimSpace(runIn(t, "/", "dpkg", "--print-architecture"))
	fields := runIn(t, "/", "dpkg-deb", "--field", debs[0], "Package", "Architecture", "Depends", "Pre-Depends")
	if fields != "Package: respawn\nArchitecture: "+arch+"\n" {
		t.Errorf("the package's control fields:\n%s\nwant Package respawn, Architecture %s and no Depends", fields, arch)
	}
	paths := debPaths(t, debs[0])
	existed := map[string]bool{}
	for _, p := range paths {
		if _, err := os.Lstat(p); err == nil {
			existed[p] = true
		}
	}
	t.Cleanup(func() { _ = exec.Command("dpkg", "--purge", "respawn").Run() })

	dpkg(t, "--install", debs[0])
	if got := runIn(t, "/", "/usr/bin/respawn", "--version"); got != "respawn "+want+"\n" {
		t.Errorf("installed /usr/bin/respawn --version says %q, want version %s", got, want)
	}
	for _, bin := range []string{"/usr/bin/respawn", "/usr/bin/respawnctl"} {
		checkStatic(t, bin)
	}
	for _, page := range []string{"respawn", "respawnctl"} {
		if got := strings.TrimSpace(man(t, "-w", page).stdout); got != "/usr/share/man/man8/"+page+".8.gz" {
			t.Errorf("man -w %s: %q", page, got)
		}
		if text := man(t, page).stdout; !strings.Contains(text, "NAME\n       "+page+" - ") {
			t.Errorf("man %s shows no NAME line:\n%.300s", page, text)
		}
	}
	verify := exec.Command("systemd-analyze", "verify", "/usr/share/doc/respawn/examples/respawn.service")
	if out, err := verify.CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify the example unit: %v\n%s", err, out)
	}

	dpkg(t, "--remove", "respawn")
	dpkg(t, "--purge", "respawn")
	if out, err := exec.Command("dpkg-query", "-W", "respawn").CombinedOutput(); err == nil {
		t.Errorf("dpkg still knows the package after purge: %s", out)
	}
	for _, p := range paths {
		if _, err := os.Lstat(p); err == nil && !existed[p] {
			t.Errorf("left after purge: %s", p)
		}
	}
	if left, _ := filepath.Glob("/var/lib/dpkg/info/respawn.*"); len(left) > 0 {
		t.Errorf("left after purge: %q", left)
	}
}

// debPaths lists the files and directories in the package, as absolute
// paths.
func debPaths(t *testing.T, deb string) []string {
	t.Helper()
	var paths []string
	for _, l := range strings.Split(strings.TrimSpace(runIn(t, "/", "dpkg-deb", "--contents", deb)), "\n") {
		f := strings.Fields(l)
		if len(f) != 6 {
			t.Fatalf("dpkg-deb --contents: %q", l)
		}
		if p := strings.TrimSuffix(strings.TrimPrefix(f[5], "."), "/"); p != "" {
			paths = append(paths, p)
		}
	}
	return paths
}

// dpkg runs dpkg ARGS, waiting up to a minute while another dpkg or apt
// holds dpkg's lock, and fails t if it fails otherwise.
func dpkg(t *testing.T, args ...string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		out, err := exec.Command("dpkg", args...).CombinedOutput()
		if err == nil {
			return
		}
		if !bytes.Contains(out, []byte("lock")) || time.Now().After(deadline) {
			t.Fatalf("dpkg %q: %v\n%s", args, err, out)
		}
		time.Sleep(time.Second)
	}
}

// checkStatic fails t unless the ELF file bin asks for no interpreter and
// no shared library: what lets the package depend on nothing.
func checkStatic(t *testing.T, bin string) {
	t.Helper()
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("%s is dynamically linked (%v)", bin, p.Type)
		}
	}
}
