//go:build linux

package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestSystemdUnitExample checks that dist/respawn.service agrees with how
// respawn starts, stops and upgrades: systemd waits for respawn's
// READY=1 (Type=notify, from respawn itself: NotifyAccess=main), signals
// respawn alone (KillMode=mixed; the default control-group would SIGTERM
// every server at once, bypassing their stop signals), waits longer than
// the longest --stop-timeout on its ExecStart before its own SIGKILL,
// reloads with respawnctl upgrade (the live upgrade, whose outcome it
// waits for), and, with WatchdogSec=, kills a hung respawn with a signal
// that leaves Restart= to start it again. systemd-analyze verify checks
// the rest, with the paths of the built binaries, and once more on the
// installed package (TestDebInstallRemove).
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
	if unit["Type"] != "notify" {
		t.Errorf("Type=%s: respawn sends READY=1 once its servers are started; want notify", unit["Type"])
	}
	if n := unit["NotifyAccess"]; n != "" && n != "main" {
		t.Errorf("NotifyAccess=%s: only respawn, the main process, notifies; want main", n)
	}
	if unit["KillMode"] != "mixed" {
		t.Errorf("KillMode=%s, want mixed", unit["KillMode"])
	}
	if unit["ExecReload"] != "/usr/bin/respawnctl upgrade" {
		t.Errorf("ExecReload=%s, want /usr/bin/respawnctl upgrade", unit["ExecReload"])
	}
	checkUnitWatchdog(t, unit)
	checkUnitStopTimeout(t, unit)
	verifyUnit(t, string(b))
}

// checkUnitWatchdog checks WatchdogSec= and the signal that ends a hung
// respawn: not SIGABRT (the default) nor SIGQUIT, which Go's runtime
// answers with a stack dump and exit status 2, which
// RestartPreventExitStatus=2 (a bad command line) keeps from a restart.
func checkUnitWatchdog(t *testing.T, unit map[string]string) {
	t.Helper()
	w, err := time.ParseDuration(unit["WatchdogSec"])
	if err != nil || w < 2*time.Second {
		t.Errorf("WatchdogSec=%s, want a period of seconds (keepalives go every half)", unit["WatchdogSec"])
	}
	prevent := strings.Fields(unit["RestartPreventExitStatus"])
	if sig := unit["WatchdogSignal"]; slices.Contains(prevent, "2") && (sig == "" || sig == "SIGABRT" || sig == "SIGQUIT") {
		t.Errorf("WatchdogSignal=%s with RestartPreventExitStatus=2: a hung respawn would exit 2 and never be restarted", sig)
	}
}

// checkUnitStopTimeout checks that TimeoutStopSec is longer than the
// longest --stop-timeout, given on ExecStart or respawn's default.
func checkUnitStopTimeout(t *testing.T, unit map[string]string) {
	t.Helper()
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

// verifyUnit runs systemd-analyze verify on the unit with the built
// binaries in place of /usr/bin's, and without its Documentation= (the
// man pages are not installed here; TestDebInstallRemove checks them).
func verifyUnit(t *testing.T, unit string) {
	t.Helper()
	unit = strings.ReplaceAll(unit, "/usr/bin/respawnctl ", respawnctlBin+" ")
	unit = strings.ReplaceAll(unit, "/usr/bin/respawn ", respawnBin+" ")
	unit = regexp.MustCompile(`(?m)^Documentation=.*\n`).ReplaceAllString(unit, "")
	path := filepath.Join(t.TempDir(), "respawn.service")
	if err := os.WriteFile(path, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("systemd-analyze", "verify", path).CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
