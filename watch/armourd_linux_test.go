//go:build linux

package watch

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// ReadArmourd refuses what is not a regular file at once, a FIFO with no
// writer included, and a file over the bound.
func TestReadArmourdRefuses(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, []byte(strings.Repeat("/x\n", MaxFileBytes/3+1)), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, path, want string }{
		{"fifo", fifo, "not a regular file"},
		{"directory", dir, "not a regular file"},
		{"missing", filepath.Join(dir, "none"), "no such file"},
		{"too big", big, "over 1048576 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ReadArmourd(tt.path, ActionDefault); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ReadArmourd(%s): %v, want %q", tt.path, err, tt.want)
			}
		})
	}
}
