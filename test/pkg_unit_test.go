//go:build linux

package test

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestSystemdUnitExample checks that dist/respawn.service agrees with how
// respawn stops and upgrades: systemd signals respawn alone
// (KillMode=mixed; the default control-group would SIGTERM every server
// at once, bypassing their stop signals), waits longer than the longest
// --stop-timeout on its ExecStart before its own SIGKILL, reloads with
// SIGHUP (the live upgrade), and does not wait for sd_notify, which
// respawn does not send. systemd-analyze verify checks the rest once the
// package is installed (TestDebInstallRemove).
func TestSystemdUnitExample(t *testing.T) {
	b, err := os.ReadFile("../dist/respawn.service")
	if err != nil {
		t.Fatal(err)
	}
	unit := map[string]string{}
	text := strings.ReplaceAll(string(b), "\\\n", " ")
	for _, l := range strings.Split(text, "\n") {
		if k, v, ok := strings.Cut(l, "="); ok && !strings.HasPrefix(l, "#") {
			unit[k] = strings.TrimSpace(v)
		}
	}
	if unit["Type"] != "exec" && unit["Type"] != "simple" {
		t.Errorf("Type=%s: respawn does not speak sd_notify; want exec or simple", unit["Type"])
	}
	if unit["KillMode"] != "mixed" {
		t.Errorf("KillMode=%s, want mixed", unit["KillMode"])
	}
	if !regexp.MustCompile(`^/bin/kill -(HUP|s HUP|SIGHUP) \$MAINPID$`).MatchString(unit["ExecReload"]) {
		t.Errorf("ExecReload=%s does not send SIGHUP to respawn", unit["ExecReload"])
	}
	help, _ := exec.Command(respawnBin, "--help").Output()
	def := regexp.MustCompile(`--stop-timeout duration .*\(default (\S+)\)`).FindSubmatch(help)
	if def == nil {
		t.Fatalf("respawn --help gives no default --stop-timeout:\n%s", help)
	}
	longest, err := time.ParseDuration(string(def[1]))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`--stop-timeout=(\S+)`).FindAllStringSubmatch(unit["ExecStart"], -1) {
		d, err := time.ParseDuration(m[1])
		if err != nil {
			t.Fatalf("ExecStart: --stop-timeout=%s: %v", m[1], err)
		}
		longest = max(longest, d)
	}
	stop, err := time.ParseDuration(unit["TimeoutStopSec"])
	if err != nil || stop <= longest {
		t.Errorf("TimeoutStopSec=%s, want more than the longest --stop-timeout, %v", unit["TimeoutStopSec"], longest)
	}
}
