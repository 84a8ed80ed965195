package main

import (
	"strings"
	"testing"
	"time"
)

func TestNotifySettings(t *testing.T) {
	tests := []struct {
		name    string
		args    string
		ready   bool
		timeout time.Duration
		dog     time.Duration
		err     string
	}{
		{name: "bare ready", args: "{ --ready sleep 1 }", ready: true},
		{name: "ready timeout", args: "{ --ready=5s sleep 1 }", ready: true, timeout: 5 * time.Second},
		{name: "ready seconds", args: "{ --ready=2 sleep 1 }", ready: true, timeout: 2 * time.Second},
		{name: "watchdog", args: "{ @db --ready --watchdog=500ms sleep 1 }", ready: true, dog: 500 * time.Millisecond},
		{name: "ready zero", args: "{ --ready=0 sleep 1 }", err: "want a timeout from 1ms to 24h"},
		{name: "ready over a day", args: "{ --ready=25h sleep 1 }", err: "want a timeout from 1ms to 24h"},
		{name: "watchdog zero", args: "{ --watchdog=0 sleep 1 }", err: "want a timeout from 1ms to 24h"},
		{name: "watchdog bare", args: "{ --watchdog sleep 1 }", err: "needs a value"},
		{name: "watchdog twice", args: "{ --watchdog=1s --watchdog=2s sleep 1 }", err: "given twice"},
		{name: "watchdog bad", args: "{ --watchdog=soon sleep 1 }", err: "neither seconds nor a duration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := parseGroups(strings.Fields(tt.args))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("got %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			st := g[0].settings
			if st.Ready != tt.ready || st.ReadyTimeout != tt.timeout || st.Watchdog != tt.dog {
				t.Errorf("ready %t %s, watchdog %s", st.Ready, st.ReadyTimeout, st.Watchdog)
			}
		})
	}
}
