//go:build linux

package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// A newline in a program's name or argv does not forge a line: the
// SIGUSR1 info dump, `respawnctl dump`, `respawnctl list` and the logs
// show each record on one line, escaped. Before, the argument
// "\n[2] fake pid=1 state=ALIVE" began a line of its own in the dump and
// in the list table.
func TestNewlineForgesNoLine(t *testing.T) {
	const fake = "\n[2] fake pid=1 state=ALIVE"
	prog := filepath.Join(t.TempDir(), "x\n[9] fake")
	if err := os.Symlink(selfBin, prog); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "ctl.sock")
	s := launch(t, exec.Command(respawnBin, "--control="+sock, "--interval=1h",
		"{", prog, "helper", "sleep", "}",
		"{", selfBin, "helper", "sleep", fake, "}"))
	t.Cleanup(s.cleanup)
	guard(s)
	s.waitText(regexp.MustCompile(`msg=ALIVE task=control`))
	s.waitText(regexp.MustCompile(`msg=ALIVE server=2 `))

	s.signal(unix.SIGUSR1)
	s.waitText(regexp.MustCompile(`^end of info dump$`))
	checkRecordLines(t, "SIGUSR1 dump", dumpBlock(s.textLines()), `  [`, `  [task] `)
	checkRecordLines(t, "respawnctl dump", strings.Split(ctlOK(t, sock, "dump"), "\n"), `  [`, `  [task] `)
	checkRecordLines(t, "respawnctl list", strings.Split(ctlOK(t, sock, "list"), "\n"), ``, `- `)
	for _, l := range s.textLines() {
		if strings.HasPrefix(l, "[") {
			t.Errorf("respawn wrote a forged line: %q", l)
		}
	}
	if code := s.stop(); code != 0 {
		t.Errorf("exit status %d", code)
	}
}

// checkRecordLines checks that out (a dump or a table) has one line per
// record, each starting with prefix and its index (a server) or with task
// (the control task), and that the forged texts show escaped, on their
// records' lines.
func checkRecordLines(t *testing.T, what string, out []string, prefix, task string) {
	t.Helper()
	want := map[string]*regexp.Regexp{
		prefix + "1": regexp.MustCompile(`x__9__fake .*\$'\S*/x\\n\[9\] fake' helper sleep`),
		prefix + "2": regexp.MustCompile(`\$'\\n\[2\] fake pid=1 state=ALIVE'`),
		task:         regexp.MustCompile(`control`),
	}
	var seen []string
	for _, l := range out {
		if strings.Contains(l, "fake") && !strings.HasPrefix(l, prefix+"1") && !strings.HasPrefix(l, prefix+"2") {
			t.Errorf("%s: forged line %q", what, l)
		}
		for start, re := range want {
			if strings.HasPrefix(l, start) {
				seen = append(seen, strings.TrimSpace(strings.TrimPrefix(start, prefix)))
				if !re.MatchString(l) {
					t.Errorf("%s: line %q does not match %v", what, l, re)
				}
			}
		}
	}
	if n := len(seen); n != 3 || seen[0] != "1" || seen[1] != "2" || !strings.Contains(seen[2], "task") && seen[2] != "-" {
		t.Errorf("%s: record lines %q, want 1, 2 and the task:\n%s", what, seen, strings.Join(out, "\n"))
	}
}

// textLines is what respawn has written so far that is not a JSON log.
func (s *Sup) textLines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.text...)
}

// dumpBlock is the text from the first info dump's first line to its last.
func dumpBlock(text []string) []string {
	for i, l := range text {
		if !strings.HasPrefix(l, "respawn info dump at ") {
			continue
		}
		for j := i; j < len(text); j++ {
			if text[j] == "end of info dump" {
				return text[i : j+1]
			}
		}
	}
	return nil
}
