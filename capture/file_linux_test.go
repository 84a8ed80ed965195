//go:build linux

package capture

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// Rotation keeps PATH and PATH.1 ... PATH.Keep, each at most Max bytes,
// the newest lines in PATH, and a partial piece is written as it came.
func TestLogFileRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "log")
	l := newLogFile(New(Config{}), "x", File{Path: path, Max: 100, Keep: 2})
	for i := range 100 {
		l.write([]byte("line "+strconv.Itoa(i)), false) // 7 or 8 bytes with the newline
	}
	l.write([]byte("cut "), true)
	l.write([]byte("end"), false)
	var all string
	for _, name := range []string{path + ".2", path + ".1", path} {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > 100 {
			t.Errorf("%s: %d bytes, over 100", name, len(b))
		}
		all += string(b)
	}
	if _, err := os.Stat(path + ".3"); err == nil {
		t.Error("a third rotated file kept with Keep 2")
	}
	if !strings.HasSuffix(all, "line 98\nline 99\ncut end\n") {
		t.Errorf("files end %q", all[max(0, len(all)-40):])
	}
}

func TestCheckDir(t *testing.T) {
	tests := []struct {
		name string
		st   unix.Stat_t
		ok   bool
	}{
		{"root's", unix.Stat_t{Uid: 0, Mode: unix.S_IFDIR | 0o755}, true},
		{"ours", unix.Stat_t{Uid: uint32(os.Geteuid()), Mode: unix.S_IFDIR | 0o700}, true},
		{"another user's", unix.Stat_t{Uid: 65534, Mode: unix.S_IFDIR | 0o755}, os.Geteuid() == 65534},
		{"group-writable", unix.Stat_t{Uid: 0, Mode: unix.S_IFDIR | 0o775}, false},
		{"world-writable", unix.Stat_t{Uid: 0, Mode: unix.S_IFDIR | 0o777}, false},
		{"sticky like /tmp", unix.Stat_t{Uid: 0, Mode: unix.S_IFDIR | unix.S_ISVTX | 0o777}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := checkDir("d", &tt.st); (err == nil) != tt.ok {
				t.Errorf("checkDir: %v, want ok=%v", err, tt.ok)
			}
		})
	}
}
