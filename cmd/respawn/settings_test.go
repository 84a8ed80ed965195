package main

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"respawn/respawn"
)

func TestSettingsGrammar(t *testing.T) {
	g, err := parseGroups(strings.Fields("{ @web --stop-signal=QUIT --stop-timeout=20s --kill-mode=pid --user=0 --cwd=/ --env=A=1 --env=B=2 --umask=027 --nofile=1024:4096 --retries=0 -- -prog x }"))
	if err != nil {
		t.Fatal(err)
	}
	st := g[0].settings
	switch {
	case g[0].name != "web" || strings.Join(g[0].argv, " ") != "-prog x":
		t.Errorf("group %q %q", g[0].name, g[0].argv)
	case st.StopSignal != syscall.SIGQUIT || st.StopTimeout != 20*time.Second || st.KillMode != respawn.KillPid:
		t.Errorf("stop settings %+v", st)
	case st.User != "0" || st.UID != 0 || st.Cwd != "/" || len(st.Env) != 2 || !st.UmaskSet || st.Umask != 0o27:
		t.Errorf("process settings %+v", st)
	case len(st.Limits) != 1 || st.Limits[0].Cur != 1024 || st.Limits[0].Max != 4096 || !st.RetriesSet || st.Retries != 0:
		t.Errorf("limits/retries %+v", st)
	}
}

func TestSettingsRefused(t *testing.T) {
	for _, c := range []struct{ args, want string }{
		{"{ --stop-signal=NOPE sleep 1 }", "no such signal"},
		{"{ --bogus=1 sleep 1 }", `unknown setting "--bogus=1"`},
		{"{ -x sleep 1 }", "needs '--' before it"},
		{"{ --umask sleep 1 }", "needs a value"},
		{"{ --umask=1 --umask=2 sleep 1 }", "given twice"},
		{"{ --user=no-such-user-here sleep 1 }", "no such user"},
		{"{ --cwd=/etc/passwd sleep 1 }", "not a directory"},
		{"{ --nofile=10:5 sleep 1 }", "above the hard limit"},
		{"{ --log-max=1M sleep 1 }", "need --log-file"},
		{"{ @a --retries=1 }", "empty group"},
	} {
		_, err := parseGroups(strings.Fields(c.args))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.args, err, c.want)
		}
	}
}
