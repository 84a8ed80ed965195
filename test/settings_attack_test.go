//go:build linux

package test

import (
	"strings"
	"testing"
)

// 4294967295 is (uid_t)-1, which the kernel's set*id calls read as "leave
// unchanged": as a --user, --group or --groups id it is a bad value,
// refused before anything starts. Reproduces its acceptance: the server
// was started, failed with EINVAL and was buried.
func TestSettingsMinusOneID(t *testing.T) {
	for _, setting := range []string{"--user=4294967295", "--group=4294967295", "--groups=0,4294967295"} {
		code, stdout, stderr := runUsage(t, "--control=none", "--exit-when-buried", "{", setting, "true", "}")
		if code != 2 || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "4294967295") {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want 2 and one line about 4294967295", setting, code, stdout, stderr)
		}
	}
}

// Two servers given one --log-file, or one given another's rotated file,
// are refused before anything starts: each server counts and rotates its
// own file. Reproduces their acceptance: with --log-max=4096 a file grew
// to 8186 bytes, and each rotation moved the other server's lines.
func TestSettingsLogFileShared(t *testing.T) {
	dir := t.TempDir()
	for _, second := range []string{dir + "/x.log", dir + "/./x.log", dir + "/x.log.1"} {
		code, stdout, stderr := runUsage(t, "--control=none", "--exit-when-buried",
			"{", "--log-file="+dir+"/x.log", "true", "}", "{", "--log-file="+second, "true", "}")
		if code != 2 || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "server 2: --log-file="+second) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want 2 and one line about server 2", second, code, stdout, stderr)
		}
	}
}
