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
