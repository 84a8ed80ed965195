//go:build linux

package test

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// SIGTERM to respawn goes to each server's whole process group: a shell's
// background child dies with the shell and is reaped before respawn exits.
func TestStopSignalsWholeGroup(t *testing.T) {
	file := tempFile(t, "bg")
	s := begin(t, "{", "sh", "-c", "sleep 300 & echo $! > "+file+"; wait", "}",
		"{", selfBin, "helper", "sleep", "}")
	bg := waitPidFile(t, file)
	sh := attr(s.waitLog(1, msg("ALIVE", "server", 1)), "pid")
	if _, st := procStat(bg); st == 0 {
		t.Fatalf("background sleep %d not running", bg)
	}
	if pg, _ := unix.Getpgid(bg); pg != sh {
		t.Fatalf("background sleep in process group %d, want the server's (%d)", pg, sh)
	}
	if code := s.stop(); code != 0 {
		t.Errorf("exit status %d, want 0", code)
	}
	s.waitLog(1, msg("CREMATED", "server", 1, "exit", "signal SIGTERM"))
	if !gone(bg) {
		ppid, st := procStat(bg)
		t.Errorf("background sleep %d left behind (state %c, parent %d)", bg, st, ppid)
		killWait(t, bg)
	}
}

// A stopped server still hears the SIGTERM: SIGCONT follows it.
func TestStopStoppedServer(t *testing.T) {
	s := begin(t, "{", selfBin, "helper", "sleep", "}")
	pid := attr(s.waitLog(1, msg("ALIVE", "server", 1)), "pid")
	if err := unix.Kill(pid, unix.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	eventually(t, "server stopped", func() bool { _, st := procStat(pid); return st == 'T' })
	if code := s.stop(); code != 0 {
		t.Errorf("exit status %d, want 0", code)
	}
	s.waitLog(1, msg("CREMATED", "server", 1, "pid", pid, "exit", "signal SIGTERM"))
}

// A server that ignores SIGTERM is killed after --stop-timeout, and the
// exit status then says that not every server ended cleanly.
func TestStopTimeoutKills(t *testing.T) {
	file := tempFile(t, "ready")
	s := begin(t, "--stop-timeout=300ms",
		"{", selfBin, "helper", "ignoreterm", file, "}",
		"{", selfBin, "helper", "sleep", "}")
	waitPidFile(t, file)
	s.waitLog(1, msg("ALIVE", "server", 2))
	if code := s.stop(); code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	s.waitLog(1, msg("CREMATED", "server", 1, "exit", "signal SIGKILL"))
	s.waitLog(1, msg("CREMATED", "server", 2, "exit", "signal SIGTERM"))
}

// A second SIGTERM kills what is left at once, without waiting for
// --stop-timeout.
func TestSecondStopSignalKills(t *testing.T) {
	file := tempFile(t, "ready")
	s := begin(t, "--stop-timeout=1h", "{", selfBin, "helper", "ignoreterm", file, "}")
	waitPidFile(t, file)
	s.signal(unix.SIGTERM)
	s.waitLog(1, msg("shutting down"))
	s.signal(unix.SIGINT)
	s.waitLog(1, msg("second shutdown signal: killing what is left"))
	if code := s.wait(); code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	s.waitLog(1, msg("CREMATED", "server", 1, "exit", "signal SIGKILL"))
}

// --leave-running: respawn exits on SIGTERM and its servers go on; the
// test then ends them by pid.
func TestLeaveRunning(t *testing.T) {
	s := begin(t, "--leave-running",
		"{", selfBin, "helper", "sleep", "}",
		"{", selfBin, "helper", "sleep", "}")
	pids := []int{attr(s.waitLog(1, msg("ALIVE", "server", 1)), "pid"), attr(s.waitLog(1, msg("ALIVE", "server", 2)), "pid")}
	s.signal(unix.SIGTERM)
	s.waitLog(1, msg("leaving servers running", "alive", 2))
	waitExitedOnly(t, s)
	for _, pid := range pids {
		// Adopted by the test, the subreaper above respawn, once the
		// last thread of respawn is gone.
		eventually(t, "server adopted by the test", func() bool { ppid, _ := procStat(pid); return ppid != s.Pid })
		if ppid, st := procStat(pid); st == 0 || st == 'Z' || ppid != os.Getpid() {
			t.Errorf("server %d: state %c, parent %d; want it running, a child of the test", pid, st, ppid)
		}
		killWait(t, pid)
	}
	code := s.wait()
	if code != 0 {
		t.Errorf("exit status %d with servers left running as asked, want 0", code)
	}
	if n := s.count(msg("CREMATED")); n != 0 {
		t.Errorf("%d CREMATED lines", n)
	}
}

// SIGTERM and SIGINT stop the servers with SIGTERM; SIGQUIT (a container's
// stop signal) passes SIGQUIT on instead. Each server hears the stop
// signal once, then SIGCONT at most.
func TestStopSignals(t *testing.T) {
	tests := []struct {
		name string
		sig  unix.Signal
		want string
	}{
		{name: "SIGTERM", sig: unix.SIGTERM, want: "SIGTERM"},
		{name: "SIGINT", sig: unix.SIGINT, want: "SIGTERM"},
		{name: "SIGQUIT", sig: unix.SIGQUIT, want: "SIGQUIT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f1, f2 := tempFile(t, "sigs1"), tempFile(t, "sigs2")
			s := begin(t, "{", selfBin, "helper", "signals", f1, "}", "{", selfBin, "helper", "signals", f2, "}")
			waitLines(t, f1, 1)
			waitLines(t, f2, 1)
			s.signal(tt.sig)
			if code := s.wait(); code != 0 {
				t.Errorf("exit status %d, want 0", code)
			}
			for _, f := range []string{f1, f2} {
				var got []string
				for _, l := range lines(f)[1:] {
					if l != "SIGCONT" {
						got = append(got, l)
					}
				}
				if !reflect.DeepEqual(got, []string{tt.want}) {
					t.Errorf("server heard %q, want %s (and SIGCONT)", lines(f), tt.want)
				}
			}
			s.waitLog(1, msg("shutting down"))
			s.waitLog(1, msg("CREMATED", "server", 1, "exit", "exit 0"))
			s.waitLog(1, msg("CREMATED", "server", 2, "exit", "exit 0"))
		})
	}
}

// SIGWINCH is passed on to every server's process group, and respawn goes
// on.
func TestWinchForwarded(t *testing.T) {
	f1, f2, f3 := tempFile(t, "leader"), tempFile(t, "member"), tempFile(t, "other")
	s := begin(t,
		"{", "sh", "-c", selfBin+" helper signals "+f2+" & exec "+selfBin+" helper signals "+f1, "}",
		"{", selfBin, "helper", "signals", f3, "}")
	for _, f := range []string{f1, f2, f3} {
		waitLines(t, f, 1)
	}
	s.signal(unix.SIGWINCH)
	for _, f := range []string{f1, f2, f3} {
		if l := waitLines(t, f, 2); l[1] != "SIGWINCH" {
			t.Errorf("%s: heard %q, want SIGWINCH", f, l)
		}
	}
	s.signal(unix.SIGUSR1)
	s.waitLog(1, msg("info dump"))
	if n := s.count(msg("shutting down")); n != 0 || s.exited() {
		t.Fatal("SIGWINCH stopped respawn")
	}
	if code := s.stop(); code != 0 {
		t.Errorf("exit status %d, want 0", code)
	}
	for _, f := range []string{f1, f2, f3} {
		if l := lines(f); !strings.Contains(strings.Join(l, " "), "SIGTERM") {
			t.Errorf("%s: heard %q at the stop, want SIGTERM", f, l)
		}
	}
}

// SIGUSR2 during the stop does not revive the buried: a server started
// after the SIGTERM went out would never hear it.
func TestNoReviveWhileStopping(t *testing.T) {
	file := tempFile(t, "ready")
	s := begin(t, "--stop-timeout=1h", "--retries=0", "--interval=1h",
		"{", selfBin, "helper", "ignoreterm", file, "}",
		"{", selfBin, "helper", "exit", "3", "}")
	waitPidFile(t, file)
	s.waitLog(1, msg("BURIED", "server", 2))
	s.signal(unix.SIGTERM)
	s.waitLog(1, msg("shutting down"))
	s.signal(unix.SIGUSR2)
	s.waitLog(1, func(l map[string]any) bool { m, _ := l["msg"].(string); return strings.HasPrefix(m, "revive") })
	if n := s.count(msg("ALIVE", "server", 2, "from", "BURIED")); n != 0 {
		t.Errorf("a buried server was revived during the stop")
	}
	s.signal(unix.SIGTERM) // the second one kills at once
	if code := s.wait(); code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
}

// --stop-timeout=0 kills every server at once, with no SIGTERM first: a
// server that ignores SIGTERM and one that would exit on it both end by
// SIGKILL, and the second never hears SIGTERM, after a live upgrade too.
// It used to mean the 10 s default, SIGTERM first.
func TestStopTimeoutZeroKillsAtOnce(t *testing.T) {
	ready, sigs := tempFile(t, "ready"), tempFile(t, "signals")
	s := begin(t, "--stop-timeout=0",
		"{", selfBin, "helper", "ignoreterm", ready, "}",
		"{", selfBin, "helper", "signals", sigs, "}")
	waitPidFile(t, ready)
	waitLines(t, sigs, 1)
	s.upgrade(1) // the snapshot carries it
	if code := s.stop(); code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	s.waitLog(1, msg("CREMATED", "server", 1, "exit", "signal SIGKILL"))
	s.waitLog(1, msg("CREMATED", "server", 2, "exit", "signal SIGKILL"))
	if got := lines(sigs); len(got) != 1 {
		t.Errorf("the second server heard %q, want nothing after ready", got[1:])
	}
}
