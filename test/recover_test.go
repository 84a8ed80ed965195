//go:build linux

package test

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func init() {
	moreHelpers["rewrite"] = rewriteArgv
	moreHelpers["rewritten"] = func(args []string) int {
		appendLine(args[0], strconv.Itoa(os.Getpid()))
		return pause()
	}
}

// rewriteArgv plays a server that rewrites its command line, as nginx,
// postgres and php-fpm do: "rewrite FILE" execs the same executable again
// as "server: master process helper rewritten FILE", so that
// /proc/PID/cmdline no longer reads as respawn started it, while the pid,
// the process group and the executable stay the same.
func rewriteArgv(args []string) int {
	exe, err := os.Executable()
	if err != nil {
		return 90
	}
	_ = syscall.Exec(exe, []string{"server: master process", "helper", "rewritten", args[0]}, os.Environ())
	return 90
}

// rewrittenPids lists respawn's children that run a rewriting helper,
// before or after the rewrite.
func rewrittenPids(respawnPid int) []int {
	var out []int
	for _, k := range children(respawnPid) {
		if c := cmdline(k); strings.Contains(c, "helper rewritten ") || strings.Contains(c, "helper rewrite ") {
			out = append(out, k)
		}
	}
	return out
}

// Servers that rewrote their command line are found by their executable
// when the snapshot is unusable: adopted, not started a second time, and
// still supervised.
func TestRecoverRewrittenArgv(t *testing.T) {
	dir := t.TempDir()
	bin := copyBinary(t)
	f1, f2 := filepath.Join(dir, "one"), filepath.Join(dir, "two")
	s := startBin(t, bin, "", "--interval=50ms", "--control=none",
		"{", selfBin, "helper", "rewrite", f1, "}",
		"{", selfBin, "helper", "rewrite", f2, "}",
		"{", selfBin, "helper", "sleep", "}")
	p1, p2 := waitPidFile(t, f1), waitPidFile(t, f2)
	s.waitLog(1, msg("ALIVE", "server", 3))
	before := rewrittenPids(s.Pid)
	if !slices.Equal(before, []int{p1, p2}) && !slices.Equal(before, []int{p2, p1}) {
		t.Fatalf("rewritten servers %v, want %d and %d", before, p1, p2)
	}
	l := upgradeUnusable(s, bin)
	if l["adopted"] != float64(3) || l["started_afresh"] != float64(0) {
		t.Errorf("adopted %v, started afresh %v; want 3 and 0", l["adopted"], l["started_afresh"])
	}
	s.waitLog(1, msg("respawn upgraded"))
	d := s.dump(1)
	after := rewrittenPids(s.Pid)
	slices.Sort(before)
	slices.Sort(after)
	if !slices.Equal(after, before) {
		t.Errorf("processes of the rewriting servers %v after the upgrade, want %v alone", after, before)
	}
	if got := dumpServer(d, 1)["pid"]; got != float64(p1) {
		t.Errorf("server 1 adopted as pid %v, want %d", got, p1)
	}
	if got := dumpServer(d, 2)["pid"]; got != float64(p2) {
		t.Errorf("server 2 adopted as pid %v, want %d", got, p2)
	}
	// Still supervised: killed, it comes back.
	waitLived(t, s, 1, 50e6)
	_ = unix.Kill(p1, unix.SIGKILL)
	s.waitLog(1, msg("DEAD", "server", 1, "pid", p1))
	s.waitLog(1, msg("ALIVE", "server", 1, "from", "DEAD"))
	s.stop()
}
