//go:build linux

package test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func init() {
	moreHelpers["longlines"] = longLines
	moreHelpers["euros"] = euros
}

// euros writes one line of N euro signs (3 bytes each in UTF-8), then
// sleeps.
func euros(args []string) int {
	n, _ := strconv.Atoi(args[0])
	if _, err := fmt.Fprintln(os.Stdout, strings.Repeat("\u20ac", n)); err != nil {
		return 3
	}
	return pause()
}

// A long line of valid UTF-8 is cut into pieces between characters, not
// inside one: put back together from its JSON pieces it is the line the
// server wrote. Reproduces a cut at byte 4096 of a line of 3-byte
// characters: each piece's broken end became U+FFFD, and the joined
// line lost a character at every cut.
func TestOutputLongLineUTF8(t *testing.T) {
	const n = 5000
	s := begin(t, "{", "@eu", selfBin, "helper", "euros", strconv.Itoa(n), "}")
	got := s.waitCaptured("eu", "stdout", 1)
	if want := strings.Repeat("\u20ac", n); got[0] != want {
		t.Errorf("the line read back: %d bytes, %d U+FFFD; want %d euro signs", len(got[0]), strings.Count(got[0], "\ufffd"), n)
	}
	s.stop()
}

// longLines writes N lines of SIZE bytes to stdout, each in one write:
// "L i " followed by as many '.' as make up SIZE, then sleeps.
func longLines(args []string) int {
	n, _ := strconv.Atoi(args[0])
	size, _ := strconv.Atoi(args[1])
	for i := range n {
		head := "L " + strconv.Itoa(i) + " "
		if _, err := fmt.Fprintln(os.Stdout, head+strings.Repeat(".", size-len(head))); err != nil {
			return 3
		}
	}
	return pause()
}

// A log file rotates between lines, never inside one: a line longer than
// 4096 bytes, which reaches the file in pieces, is whole in one file.
// Reproduces rotation before a line's last piece: the line's head ended
// PATH.1 and its tail began the new PATH.
func TestOutputRotationLongLines(t *testing.T) {
	const n, size = 12, 6000
	file := tempFile(t, "long.log")
	s := begin(t, "{", "@long", "--log-file="+file, "--log-max=16K", "--log-keep=9",
		selfBin, "helper", "longlines", strconv.Itoa(n), strconv.Itoa(size), "}")
	s.waitCaptured("long", "stdout", n)
	var all []string
	eventually(t, fmt.Sprintf("%d lines in the log files", n), func() bool {
		all = nil
		for i := 9; i >= 0; i-- {
			name := file
			if i > 0 {
				name += "." + strconv.Itoa(i)
			}
			all = append(all, lines(name)...)
		}
		return len(all) >= n
	})
	for i := 0; i <= 9; i++ {
		name := file
		if i > 0 {
			name += "." + strconv.Itoa(i)
		}
		for j, l := range lines(name) {
			if len(l) != size || !strings.HasPrefix(l, "L ") {
				t.Errorf("%s line %d: %d bytes starting %.10q: a line cut by rotation", name, j, len(l), l)
			}
		}
	}
	s.stop()
}

// A FIFO planted at a server's --log-file path (in a sticky directory,
// by anyone) is refused like a symlink: opening it must not wait for a
// reader, which would stop the one goroutine that reads every server's
// pipes. Reproduces the reader hanging in open(2) on the FIFO: no other
// server's line was logged again.
func TestOutputLogFileFIFO(t *testing.T) {
	dir := t.TempDir()
	if err := unix.Chmod(dir, 0o1777); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "f.log")
	if err := unix.Mkfifo(fifo, 0o666); err != nil {
		t.Fatal(err)
	}
	s := begin(t, "{", "@f", "--log-file="+fifo, selfBin, "helper", "count", "f", "1", "}",
		"{", "@g", selfBin, "helper", "count", "g", "20", "50ms", "}")
	s.waitLog(1, msg("respawn: log file not written", "name", "f"))
	s.waitCaptured("f", "stdout", 1)
	if err := counted(s.waitCaptured("g", "stdout", 20), "g", 20); err != nil {
		t.Error(err)
	}
	s.stop()
}

// A line without end (200 KiB, --log-max=16K) is still rotated: no file
// passes twice --log-max, and every byte is in the files.
func TestOutputRotationEndlessLine(t *testing.T) {
	const size, max = 200 << 10, 16 << 10
	file := tempFile(t, "endless.log")
	s := begin(t, "{", "@endless", "--log-file="+file, "--log-max=16K", "--log-keep=30",
		selfBin, "helper", "longlines", "1", strconv.Itoa(size), "}")
	s.waitCaptured("endless", "stdout", 1)
	total := int64(0)
	eventually(t, "every byte in the log files", func() bool {
		total = 0
		for i := 0; i <= 30; i++ {
			name := file
			if i > 0 {
				name += "." + strconv.Itoa(i)
			}
			if st, err := os.Stat(name); err == nil {
				if st.Size() > 2*max {
					t.Fatalf("%s: %d bytes with --log-max=16K", name, st.Size())
				}
				total += st.Size()
			}
		}
		return total == size+1
	})
	s.stop()
}

// A log directory removed and made again (by hand, or by a tool that
// recreates /var/log/NAME) is written again: the retry a second later
// opens the new directory. Reproduces the retry using the descriptor of
// the removed directory for ever: the file never came back.
func TestOutputLogDirRecreated(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "logs")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "d.log")
	s := begin(t, "{", "@d", "--log-file="+file, "--log-max=4096",
		selfBin, "helper", "count", "d", "100000", "2ms", "}")
	waitLines(t, file, 1)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	s.waitLog(1, msg("respawn: log file not written", "name", "d"))
	// A symlink in its place is not followed: 1000 lines (2 s, two retries)
	// later, nothing was written where it points.
	elsewhere := t.TempDir()
	if err := os.Symlink(elsewhere, dir); err != nil {
		t.Fatal(err)
	}
	n := len(s.captured("d", "stdout"))
	s.waitCaptured("d", "stdout", n+1000)
	if _, err := os.Lstat(filepath.Join(elsewhere, "d.log")); err == nil {
		t.Error("written through a symlink put in place of the removed directory")
	}
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s.waitLog(1, msg("respawn: log file usable again", "name", "d"))
	waitLines(t, file, 1)
	s.stop()
}
