package main

import (
	"io"
	"strings"
	"testing"

	"respawn/respawn"
)

func TestOnExitFlag(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want respawn.OnExit
		err  string
	}{
		{name: "default", args: nil, want: respawn.PowerOff},
		{name: "poweroff", args: []string{"--on-exit=poweroff"}, want: respawn.PowerOff},
		{name: "reboot", args: []string{"--on-exit=reboot"}, want: respawn.Reboot},
		{name: "halt", args: []string{"--on-exit", "halt"}, want: respawn.Halt},
		{name: "unknown", args: []string{"--on-exit=shutdown"}, err: `on exit "shutdown": want poweroff, reboot or halt`},
		{name: "empty", args: []string{"--on-exit="}, err: `on exit ""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, _, err := parseCommandLine(append(tt.args, "{", "a", "}"), io.Discard)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if o.onExit.how != tt.want {
				t.Errorf("on exit = %v, want %v", o.onExit.how, tt.want)
			}
		})
	}
}

// TestHelpShowsOnExit checks that --help lists --on-exit with its default.
func TestHelpShowsOnExit(t *testing.T) {
	var out strings.Builder
	if _, _, err := parseCommandLine([]string{"--help"}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "--on-exit action") || !strings.Contains(out.String(), "(default poweroff)") {
		t.Errorf("--help does not show --on-exit and its default:\n%s", out.String())
	}
}
