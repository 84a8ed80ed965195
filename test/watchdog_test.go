//go:build linux

package test

import (
	"strings"
	"testing"
)

// Bad watchdog flags are one line on stderr and exit 2, with nothing
// started: a timeout or reset-on without a device, a relative path, a
// timeout out of range, an unknown reset-on, a required name that is no
// server's.
func TestWatchdogUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--watchdog-timeout=10"}, "need --watchdog-device"},
		{[]string{"--watchdog-reset-on=buried"}, "need --watchdog-device"},
		{[]string{"--watchdog-device=watchdog0"}, "want an absolute path"},
		{[]string{"--watchdog-device=/dev/watchdog0", "--watchdog-timeout=100ms"}, "want 1s to"},
		{[]string{"--watchdog-device=/dev/watchdog0", "--watchdog-timeout=100000"}, "want 1s to"},
		{[]string{"--watchdog-device=/dev/watchdog0", "--watchdog-reset-on=dead"}, "want buried"},
		{[]string{"--watchdog-require=nosuch"}, `no server is named "nosuch" (servers: [sleep])`},
	} {
		started := tempFile(t, "started")
		args := append(append([]string{"--control=none"}, c.args...), "{", "sh", "-c", "echo started >> "+started, "}")
		if strings.Contains(c.want, "servers: [sleep]") {
			args = append(append([]string{"--control=none"}, c.args...), "{", "sleep", "0", "}")
		}
		code, _, stderr := runUsage(t, args...)
		if code != 2 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, c.want) {
			t.Errorf("respawn %q: exit %d, stderr %q; want exit 2 and one line with %q", c.args, code, stderr, c.want)
		}
		if len(lines(started)) != 0 {
			t.Errorf("respawn %q started its server", c.args)
		}
	}
}

// A device that is not a watchdog (/dev/null: a character device that
// does not answer WDIOC_GETSUPPORT) fails the task, which is buried after
// its retries with the reason; the server runs on untouched.
func TestWatchdogNotADevice(t *testing.T) {
	s := begin(t, "--interval=1s", "--retries=1", "--watchdog-device=/dev/null", "{", "@web", "sleep", "1000", "}")
	web := int(s.waitLog(1, msg("ALIVE", "name", "web"))["pid"].(float64))
	l := s.waitLog(1, msg("BURIED", "task", "watchdog"))
	if e, _ := l["exit"].(string); e != "error: hw: /dev/null: not a watchdog: ioctl WDIOC_GETSUPPORT: inappropriate ioctl for device" {
		t.Errorf("the task was buried with %q; want the device refused", e)
	}
	if !alive(web) || s.pidOf(1) != web {
		t.Errorf("the server did not run on: pid %d alive %t, now %d", web, alive(web), s.pidOf(1))
	}
	if code := s.stop(); code != 0 {
		t.Errorf("exit %d after a clean stop", code)
	}
}

// A device that does not exist yet is waited for (a module loaded
// later), and said once; the server runs meanwhile.
func TestWatchdogWaitsForDevice(t *testing.T) {
	dev := tempFile(t, "watchdog9")
	s := begin(t, "--watchdog-device="+dev, "{", "@web", "sleep", "1000", "}")
	s.waitLog(1, msg("watchdog: waiting for the device to appear", "device", dev))
	s.waitLog(1, msg("ALIVE", "name", "web"))
	if code := s.stop(); code != 0 {
		t.Errorf("exit %d after a clean stop", code)
	}
	if n := s.count(msg("watchdog: waiting for the device to appear")); n != 1 {
		t.Errorf("said %d times; want once", n)
	}
}
