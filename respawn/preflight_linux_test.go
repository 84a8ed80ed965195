//go:build linux

package respawn

import (
	"strings"
	"syscall"
	"testing"
)

// The verdict on a pre-flight check: exit 0, the "ok" line, and the
// digest of the snapshot it was given; anything else is refused, saying why.
func TestPreflightVerdict(t *testing.T) {
	const digest = "sha256:abc"
	exited := func(code int) syscall.WaitStatus { return syscall.WaitStatus(code << 8) }
	tests := []struct {
		name     string
		out      string
		status   syscall.WaitStatus
		timedOut bool
		want     string // "" for accepted
	}{
		{name: "right digest", out: "respawn upgrade-check: ok (reads snapshot versions 1 to 1) records=2 digest=sha256:abc\n"},
		{name: "no digest", out: "respawn upgrade-check: ok (reads snapshot versions 1 to 1)\n", want: "without the digest"},
		{name: "other digest", out: "respawn upgrade-check: ok records=2 digest=sha256:abd\n", want: "a different snapshot"},
		{name: "digest on another line", out: "digest=sha256:abc\nrespawn upgrade-check: ok\n", want: "without the digest"},
		{name: "non-zero exit", out: "respawn upgrade-check: ok digest=sha256:abc\n", status: exited(1), want: "failed its pre-flight"},
		{name: "killed", status: syscall.WaitStatus(syscall.SIGSEGV), want: "signal SIGSEGV"},
		{name: "its own words", out: "respawn upgrade-check: cannot read snapshot version 1\n", status: exited(1), want: "cannot read snapshot version 1"},
		{name: "timed out", out: "respawn upgrade-check: ok digest=sha256:abc\n", timedOut: true, want: "no answer within 5s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := &upgrading{bin: "/usr/bin/respawn", digest: digest, out: []byte(tt.out), status: tt.status, timedOut: tt.timedOut}
			err := u.verdict()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("verdict %v, want an error saying %q", err, tt.want)
			}
		})
	}
}
