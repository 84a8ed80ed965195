package main

import (
	"testing"

	"github.com/spf13/pflag"

	"respawn/watch"
)

// --watch-action sets the action of the rule flags and files after it,
// up to the next --watch-action; the rules before the first keep their
// kind's default.
func TestWatchActionOrder(t *testing.T) {
	var w watchFlags
	fs := pflag.NewFlagSet("respawn", pflag.ContinueOnError)
	addWatchFlags(fs, &w)
	err := fs.Parse([]string{"--watch-exe=/a", "--watch-action=notify", "--watch-name=b", "--watch-file=/etc/armourd.conf",
		"--watch-action=restart", "--watch-regex=c"})
	if err != nil {
		t.Fatal(err)
	}
	want := []watch.Action{watch.ActionDefault, watch.ActionNotify, watch.ActionRestart}
	if len(w.rules) != len(want) {
		t.Fatalf("rules %v, want %d", w.rules, len(want))
	}
	for i, r := range w.rules {
		if r.Action != want[i] {
			t.Errorf("rule %s: action %q, want %q", r.String(), r.Action, want[i])
		}
	}
	if len(w.files) != 1 || w.files[0].Action != watch.ActionNotify {
		t.Errorf("files %+v, want /etc/armourd.conf with notify", w.files)
	}
}
