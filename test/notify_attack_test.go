//go:build linux

package test

import (
	"path/filepath"
	"testing"
)

// A server names a child of its own as its main process (MAINPID=), the
// child exits and the server's shell reaps it, then goes on as the
// server (exec sleep). respawn cannot see the child's death; when the
// server's process, respawn's own child, dies, that is the server's
// death: it is restarted. respawn ignored it and showed the server ALIVE
// with the dead child's pid for good.
func TestNotifyMainPidReapedByParent(t *testing.T) {
	file := filepath.Join(t.TempDir(), "child")
	s := begin(t, "{", "@forking", "sh", "-c", `"$0" helper sdnotify "$1" 'MAINPID=$PID' sleep:300ms exit; exec sleep 600`, selfBin, file, "}")
	first := waitAlivePid(s, 1)
	s.waitLog(1, msg("main pid changed (MAINPID=)", "name", "forking", "was", first))
	eventually(t, "the child reaped by the shell, which runs sleep", func() bool { return cmdline(first) == "sleep 600" })
	killWait(t, first)
	dead := s.waitLog(1, msg("DEAD", "name", "forking"))
	if dead["exit"] != "signal SIGKILL" {
		t.Errorf("the server's death: %v", dead)
	}
	s.waitLog(1, msg("ALIVE", "name", "forking", "from", "DEAD"))
	s.stop()
}
