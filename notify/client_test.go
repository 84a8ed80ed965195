package notify

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestWatchdogPeriod(t *testing.T) {
	for _, tc := range []struct {
		name, usec, pid string
		want            time.Duration
		bad             bool
	}{
		{name: "unset", want: 0},
		{name: "set", usec: "3000000", want: 3 * time.Second},
		{name: "for this pid", usec: "1000", pid: "42", want: time.Millisecond},
		{name: "for another pid", usec: "1000", pid: "43", want: 0},
		{name: "zero", usec: "0", bad: true},
		{name: "negative", usec: "-5", bad: true},
		{name: "not a number", usec: "5s", bad: true},
		{name: "too large", usec: "99999999999999999999", bad: true},
		{name: "bad pid", usec: "1000", pid: "x", bad: true},
		{name: "pid zero", usec: "1000", pid: "0", bad: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := WatchdogPeriod(tc.usec, tc.pid, 42)
			if tc.bad != (err != nil) || got != tc.want {
				t.Fatalf("WatchdogPeriod(%q, %q) = %v, %v; want %v, error %v", tc.usec, tc.pid, got, err, tc.want, tc.bad)
			}
			if err != nil && !errors.Is(err, ErrWatchdogValue) {
				t.Fatalf("error %v does not wrap ErrWatchdogValue", err)
			}
		})
	}
}

func TestNewClientRefuses(t *testing.T) {
	for _, tc := range []struct{ name, addr string }{
		{"relative path", "run/notify"},
		{"vsock", "vsock:2:1234"},
		{"bare at", "@"},
		{"too long", "/" + strings.Repeat("x", 107)},
		{"nul", "/run/a\x00b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewClient(tc.addr)
			if err == nil {
				c.Close()
				t.Fatalf("NewClient(%q) took it", tc.addr)
			}
			if !strings.HasPrefix(err.Error(), "notify: ") {
				t.Fatalf("error %q does not start with the package name", err)
			}
		})
	}
}

func TestClientFromEnvUnset(t *testing.T) {
	c, err := ClientFromEnv(func(string) string { return "" })
	if c != nil || err != nil {
		t.Fatalf("ClientFromEnv without NOTIFY_SOCKET = %v, %v; want nil, nil", c, err)
	}
}

// FuzzWatchdogPeriod: the watchdog variables come from the environment
// respawn was started with.
func FuzzWatchdogPeriod(f *testing.F) {
	f.Add("3000000", "")
	f.Add("1000", "42")
	f.Add("18446744073709551615", "1")
	f.Fuzz(func(t *testing.T, usec, pid string) {
		d, err := WatchdogPeriod(usec, pid, 42)
		if err == nil && (d < 0 || d > maxWatchdogUsec*time.Microsecond) {
			t.Fatalf("WatchdogPeriod(%q, %q) = %v", usec, pid, d)
		}
		if err != nil && d != 0 {
			t.Fatalf("WatchdogPeriod(%q, %q) = %v with error %v", usec, pid, d, err)
		}
	})
}

// FuzzClientAddr: NOTIFY_SOCKET comes from the environment.
func FuzzClientAddr(f *testing.F) {
	f.Add("/run/systemd/notify")
	f.Add("@/org/freedesktop/systemd1/notify/1")
	f.Add("vsock:2:1")
	f.Fuzz(func(t *testing.T, addr string) {
		if checkClientAddr(addr) != nil {
			return
		}
		if addr == "@" || addr == "" || len(addr) > maxClientAddr || addr[0] != '/' && addr[0] != '@' || strings.ContainsRune(addr, 0) {
			t.Fatalf("checkClientAddr took %q", addr)
		}
	})
}
