//go:build linux

package respawn

import (
	"slices"
	"testing"
	"time"
)

// TestNotifyEnv checks a server's environment: respawn's own
// NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID never reach it; it gets
// respawn's socket, and WATCHDOG_USEC with --watchdog.
func TestNotifyEnv(t *testing.T) {
	base := []string{"PATH=/bin", "NOTIFY_SOCKET=/run/systemd/notify", "WATCHDOG_USEC=30000000", "WATCHDOG_PID=1", "HOME=/"}
	tests := []struct {
		name     string
		set      Settings
		noSocket bool
		want     []string
	}{
		{name: "plain", want: []string{"PATH=/bin", "HOME=/", "NOTIFY_SOCKET=@sock"}},
		{name: "watchdog", set: Settings{Watchdog: 1500 * time.Millisecond},
			want: []string{"PATH=/bin", "HOME=/", "NOTIFY_SOCKET=@sock", "WATCHDOG_USEC=1500000"}},
		{name: "no socket", noSocket: true, set: Settings{Watchdog: time.Second}, want: []string{"PATH=/bin", "HOME=/"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Supervisor{notify: &notifier{inherited: -1}}
			if !tt.noSocket {
				s.notify.addr = "@sock"
			}
			r := &Server{Set: tt.set}
			if got := s.notifyEnv(r, base, true); !slices.Equal(got, tt.want) {
				t.Errorf("notifyEnv = %q, want %q", got, tt.want)
			}
			if got := s.notifyEnv(r, base, true); !slices.Equal(got, tt.want) {
				t.Errorf("notifyEnv again = %q, want %q", got, tt.want)
			}
		})
	}
}
