//go:build linux

package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMakeBuildVersion checks that make build stamps both binaries with
// git describe's version in a git checkout (respawn --version said "dev"
// whatever it was built from), and "dev" in a tree without git.
func TestMakeBuildVersion(t *testing.T) {
	want := gitDescribe(t)
	bin := t.TempDir()
	runMake(t, "build", "BIN="+bin)
	for _, name := range []string{"respawn", "respawnctl"} {
		got := runIn(t, bin, filepath.Join(bin, name), "--version")
		if got != name+" "+want+"\n" {
			t.Errorf("make build: %s --version says %q, want %q", name, got, name+" "+want+"\n")
		}
	}

	tree := copyTree(t)
	runIn(t, tree, "make", "--no-print-directory", "build")
	if got := runIn(t, tree, tree+"/bin/respawn", "--version"); got != "respawn dev\n" {
		t.Errorf("built outside git: respawn --version says %q, want \"respawn dev\\n\"", got)
	}
}

// copyTree copies the source tree as it is (tracked and new files, not
// ignored ones) to a directory outside any git checkout.
func copyTree(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	files := runIn(t, "..", "git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	for _, f := range strings.Split(strings.TrimRight(files, "\x00"), "\x00") {
		b, err := os.ReadFile(filepath.Join("..", f))
		if os.IsNotExist(err) {
			continue // deleted, not yet committed
		}
		if err != nil {
			t.Fatal(err)
		}
		fi, _ := os.Stat(filepath.Join("..", f))
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dst, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, f), b, fi.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	if err := exec.Command("git", "-C", dst, "rev-parse").Run(); err == nil {
		t.Fatalf("%s is inside a git checkout", dst)
	}
	return dst
}

// TestMakeInstall checks that make install puts the binaries, the man
// pages and both completions under DESTDIR and PREFIX with their modes,
// and that make uninstall takes them away again.
func TestMakeInstall(t *testing.T) {
	want := gitDescribe(t)
	bin, root := t.TempDir(), t.TempDir()
	args := []string{"BIN=" + bin, "DESTDIR=" + root, "PREFIX=/opt/rs"}
	runMake(t, append([]string{"install"}, args...)...)
	files := map[string]os.FileMode{
		"/opt/rs/bin/respawn":                                  0o755,
		"/opt/rs/bin/respawnctl":                               0o755,
		"/opt/rs/share/man/man8/respawn.8":                     0o644,
		"/opt/rs/share/man/man8/respawnctl.8":                  0o644,
		"/opt/rs/share/bash-completion/completions/respawnctl": 0o644,
		"/opt/rs/share/zsh/site-functions/_respawnctl":         0o644,
	}
	for f, mode := range files {
		fi, err := os.Stat(root + f)
		if err != nil {
			t.Errorf("make install: %v", err)
			continue
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("make install: %s has mode %v, want %v", f, fi.Mode().Perm(), mode)
		}
	}
	if got := runIn(t, root, root+"/opt/rs/bin/respawn", "--version"); got != "respawn "+want+"\n" {
		t.Errorf("installed respawn --version says %q, want version %s", got, want)
	}
	runMake(t, append([]string{"uninstall"}, args...)...)
	for f := range files {
		if _, err := os.Lstat(root + f); err == nil {
			t.Errorf("make uninstall left %s", f)
		}
	}
}
