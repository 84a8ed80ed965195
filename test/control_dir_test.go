//go:build linux

package test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A control socket directory that other users can write to (and that is
// not sticky) or that another user owns is refused: respawn says which
// directory and why, and starts nothing. A symlink planted there could
// otherwise have had root chmod the file it points at.
func TestControlUnsafeDirectory(t *testing.T) {
	for _, tc := range []struct {
		name string
		mode os.FileMode
		uid  int
		want string
	}{
		{name: "writable by others", mode: 0o777, want: "without the sticky bit"},
		{name: "another user's", mode: 0o755, uid: 65534, want: "owned by uid 65534"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "run")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, tc.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(dir, tc.uid, tc.uid); err != nil {
				t.Fatal(err)
			}
			file := tempFile(t, "started")
			// The server exits at once: if respawn wrongly starts, it
			// ends by itself instead of holding respawn's output open.
			code, _, stderr := runUsage(t, "--control="+filepath.Join(dir, "control.sock"),
				"{", "sh", "-c", "echo started >> "+file, "}")
			if code != 2 || !strings.Contains(stderr, dir) || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want 2 and a line naming %s: %s", code, stderr, dir, tc.want)
			}
			if l := lines(file); len(l) != 0 {
				t.Errorf("a server was started: %v", l)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Errorf("%s holds %d entries, want none", dir, len(ents))
			}
		})
	}
}
