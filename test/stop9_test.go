//go:build linux

package test

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func init() {
	moreHelpers["stopsig"] = stopSigHelper
	moreHelpers["slowstop"] = slowStopHelper
}

// stopSigHelper, "stopsig FILE": write "ready" to FILE, then append the
// name of every signal received, and exit 0 after the first one that is
// not SIGCONT.
func stopSigHelper(args []string) int {
	c := make(chan os.Signal, 16)
	signal.Notify(c, syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGCONT,
		syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH)
	appendLine(args[0], "ready")
	for sig := range c {
		appendLine(args[0], unix.SignalName(sig.(syscall.Signal)))
		if sig != syscall.SIGCONT {
			return 0
		}
	}
	return 0
}

// slowStopHelper, "slowstop FILE DELAY": write "ready" to FILE; on
// SIGTERM append "SIGTERM", take DELAY to finish, append "done" and
// exit 0, as a server that drains its work does.
func slowStopHelper(args []string) int {
	d, _ := time.ParseDuration(args[1])
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGTERM)
	appendLine(args[0], "ready")
	<-c
	appendLine(args[0], "SIGTERM")
	time.Sleep(d)
	appendLine(args[0], "done")
	return 0
}

// heard is what the server recording to file heard after "ready",
// SIGCONT left out.
func heard(file string) []string {
	var got []string
	for _, l := range lines(file)[1:] {
		if l != "SIGCONT" {
			got = append(got, l)
		}
	}
	return got
}

// Each server hears its own --stop-signal when respawn stops; one without
// it hears the signal respawn got (SIGTERM for SIGTERM, SIGQUIT passed on
// from a container runtime). Every server ends by the signal meant for it
// (the one stopped by SIGUSR1 is killed by it), and that counts as a
// clean end. It used to be SIGTERM, or SIGQUIT, for every server.
func TestStopSignalPerServer(t *testing.T) {
	tests := []struct {
		name string
		sig  unix.Signal
		want [3]string // what quit, usr1 and plain hear
	}{
		{name: "SIGTERM", sig: unix.SIGTERM, want: [3]string{"SIGQUIT", "SIGUSR1", "SIGTERM"}},
		{name: "SIGQUIT", sig: unix.SIGQUIT, want: [3]string{"SIGQUIT", "SIGUSR1", "SIGQUIT"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fq, fu, fp := tempFile(t, "quit"), tempFile(t, "usr1"), tempFile(t, "plain")
			s := begin(t,
				"{", "@quit", "--stop-signal=QUIT", selfBin, "helper", "stopsig", fq, "}",
				"{", "@usr1", "--stop-signal=SIGUSR1", "sh", "-c", "echo ready > "+fu+"; exec sleep 300", "}",
				"{", "@plain", selfBin, "helper", "stopsig", fp, "}")
			for _, f := range []string{fq, fu, fp} {
				waitLines(t, f, 1)
			}
			s.signal(tt.sig)
			if code := s.wait(); code != 0 {
				t.Errorf("exit status %d, want 0: every server ended by its own stop signal", code)
			}
			for i, f := range []string{fq, fp} {
				want := tt.want[2*i]
				if got := heard(f); !reflect.DeepEqual(got, []string{want}) {
					t.Errorf("%s heard %q, want %s (and SIGCONT)", f, got, want)
				}
			}
			s.waitLog(1, msg("CREMATED", "name", "usr1", "exit", "signal "+tt.want[1]))
		})
	}
}

// A server's own --stop-timeout beats the global one both ways: the one
// that ignores SIGTERM is killed after its short timeout, with a log line
// naming it, while respawn's --stop-timeout is an hour; the one that
// takes a while to finish is given its longer timeout while respawn's is
// short, and ends cleanly.
func TestStopTimeoutPerServer(t *testing.T) {
	t.Run("shorter", func(t *testing.T) {
		ready, sigs := tempFile(t, "ready"), tempFile(t, "sigs")
		s := begin(t, "--stop-timeout=1h",
			"{", "@deaf", "--stop-timeout=300ms", selfBin, "helper", "ignoreterm", ready, "}",
			"{", "@plain", selfBin, "helper", "stopsig", sigs, "}")
		waitPidFile(t, ready)
		waitLines(t, sigs, 1)
		s.signal(unix.SIGTERM)
		l := s.waitLog(1, msg("stop timeout passed: killing", "name", "deaf"))
		if l["timeout"] != "300ms" || l["stop_signal"] != "SIGTERM" || l["level"] != "WARN" {
			t.Errorf("escalation logged as %v, want timeout 300ms, stop_signal SIGTERM, level WARN", l)
		}
		if code := s.wait(); code != 1 {
			t.Errorf("exit status %d, want 1 (a server had to be killed)", code)
		}
		s.waitLog(1, msg("CREMATED", "name", "deaf", "exit", "signal SIGKILL"))
		s.waitLog(1, msg("CREMATED", "name", "plain", "exit", "exit 0"))
		if n := s.count(msg("stop timeout passed: killing")); n != 1 {
			t.Errorf("%d escalations logged, want 1", n)
		}
	})
	t.Run("longer", func(t *testing.T) {
		file := tempFile(t, "slow")
		s := begin(t, "--stop-timeout=100ms",
			"{", "@slow", "--stop-timeout=1h", selfBin, "helper", "slowstop", file, "700ms", "}")
		waitLines(t, file, 1)
		s.signal(unix.SIGTERM)
		if code := s.wait(); code != 0 {
			t.Errorf("exit status %d, want 0", code)
		}
		if got := lines(file); !reflect.DeepEqual(got, []string{"ready", "SIGTERM", "done"}) {
			t.Errorf("server wrote %q, want it to finish its work", got)
		}
		s.waitLog(1, msg("CREMATED", "name", "slow", "exit", "exit 0"))
		if n := s.count(msg("stop timeout passed: killing")); n != 0 {
			t.Errorf("%d escalations logged, want none", n)
		}
	})
}

// --kill-mode decides who hears the stop: the whole process group
// (default), the main process only (pid: a background child of the
// server hears nothing and is killed when the stop is over), or the main
// process first and the group killed at the timeout (mixed).
func TestStopKillMode(t *testing.T) {
	tests := []struct {
		name     string
		mode     string
		main     string   // the main process's helper mode
		heard    []string // what the background child heard
		mainEnds string   // how the main process ended
	}{
		{name: "group", mode: "group", main: "stopsig", heard: []string{"SIGTERM"}, mainEnds: "exit 0"},
		{name: "pid", mode: "pid", main: "stopsig", heard: nil, mainEnds: "exit 0"},
		{name: "mixed", mode: "mixed", main: "ignoreterm", heard: nil, mainEnds: "signal SIGKILL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mainFile, bgFile := tempFile(t, "main"), tempFile(t, "bg")
			s := begin(t, "--stop-timeout=400ms",
				"{", "@srv", "--kill-mode="+tt.mode, "sh", "-c",
				selfBin+" helper stopsig "+bgFile+" & exec "+selfBin+" helper "+tt.main+" "+mainFile, "}")
			waitLines(t, mainFile, 1)
			waitLines(t, bgFile, 1)
			s.signal(unix.SIGTERM)
			s.wait()
			s.waitLog(1, msg("CREMATED", "name", "srv", "exit", tt.mainEnds))
			if got := heard(bgFile); !reflect.DeepEqual(got, tt.heard) {
				t.Errorf("the background child heard %q, want %q", got, tt.heard)
			}
			if tt.mode == "mixed" {
				s.waitLog(1, msg("stop timeout passed: killing", "name", "srv", "timeout", "400ms"))
			}
			// The harness checks that the background child is gone.
		})
	}
}

// An operator's stop uses the server's own stop signal and timeout, and
// escalates: a server that ignores its stop signal is killed when its
// timeout has passed, with a log line naming it. It used to be SIGTERM
// and no deadline: the server ran on.
func TestOperatorStopEscalates(t *testing.T) {
	ready, sigs := tempFile(t, "ready"), tempFile(t, "sigs")
	s, sock := startCtl(t,
		"{", "@deaf", "--stop-timeout=300ms", selfBin, "helper", "ignoreterm", ready, "}",
		"{", "@quit", "--stop-signal=QUIT", selfBin, "helper", "stopsig", sigs, "}")
	pid := waitPidFile(t, ready)
	waitLines(t, sigs, 1)
	ctlOK(t, sock, "stop", "deaf")
	s.waitLog(1, msg("stop timeout passed: killing", "name", "deaf", "pid", pid, "timeout", "300ms"))
	s.waitLog(1, msg("CREMATED", "name", "deaf", "exit", "signal SIGKILL"))
	ctlOK(t, sock, "stop", "quit")
	s.waitLog(1, msg("CREMATED", "name", "quit", "exit", "exit 0"))
	if got := heard(sigs); !reflect.DeepEqual(got, []string{"SIGQUIT"}) {
		t.Errorf("quit heard %q, want SIGQUIT", got)
	}
	s.stop()
}

// --exit-when-buried: respawn exits as soon as no server can run, with
// 127 when a program is missing (as tini does), 126 when it cannot be
// executed and 1 when the servers died too fast. Without it a missing
// program left respawn running for ever with nothing to do.
func TestExitWhenBuried(t *testing.T) {
	noexec := tempFile(t, "noexec")
	if err := os.WriteFile(noexec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want int
	}{
		{name: "missing", args: []string{"{", "/nonexistent/program", "}"}, want: 127},
		{name: "missing-in-path", args: []string{"{", "no-such-program-anywhere", "}"}, want: 127},
		{name: "not-executable", args: []string{"{", noexec, "}"}, want: 126},
		{name: "crash-looper", args: []string{"--interval=1h", "{", "--retries=0", selfBin, "helper", "exit", "3", "}"}, want: 1},
		{name: "missing-beside-clean", args: []string{"--interval=1h",
			"{", "@done", selfBin, "helper", "exit", "0", "}", "{", "--retries=0", selfBin, "helper", "exit", "3", "100ms", "}",
			"{", "@gone", "/nonexistent/program", "}"}, want: 127},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := begin(t, append([]string{"--exit-when-buried"}, tt.args...)...)
			if code := s.wait(); code != tt.want {
				t.Errorf("exit status %d, want %d", code, tt.want)
			}
			l := s.waitLog(1, msg("nothing left that can run: exiting (--exit-when-buried)"))
			if attr(l, "status") != tt.want || l["level"] != "ERROR" {
				t.Errorf("logged %v, want status %d at ERROR", l, tt.want)
			}
		})
	}
}

// --exit-when-buried waits while a server still runs: a missing program
// beside a live server leaves respawn supervising it; once that one is
// buried too, respawn exits with 127 for the missing program.
func TestExitWhenBuriedWaitsForTheLiving(t *testing.T) {
	s := begin(t, "--exit-when-buried", "--interval=1h",
		"{", "@web", "--retries=0", selfBin, "helper", "sleep", "}",
		"{", "@gone", "/nonexistent/program", "}")
	pid := attr(s.waitLog(1, msg("ALIVE", "name", "web")), "pid")
	s.waitLog(1, msg("BURIED", "name", "gone"))
	s.signal(unix.SIGUSR1) // answered only while respawn still runs
	s.waitLog(1, msg("info dump"))
	if s.exited() {
		t.Fatal("respawn exited while a server was running")
	}
	if err := unix.Kill(pid, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if code := s.wait(); code != 127 {
		t.Errorf("exit status %d, want 127", code)
	}
	l := s.waitLog(1, msg("nothing left that can run: exiting (--exit-when-buried)"))
	if b, _ := l["buried"].([]any); len(b) != 2 {
		t.Errorf("logged buried %v, want web and gone", l["buried"])
	}
}

// As PID 1 (a container's init), respawn warns about each server whose
// stop timeout is not under a container runtime's 10 s grace, and only
// about those: the default is under it. With --exit-when-buried, a
// missing program ends PID 1, and so the namespace, with 127.
func TestStopGraceWarningAsPID1(t *testing.T) {
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Fatalf("unshare (util-linux) is needed: %v", err)
	}
	s := launch(t, exec.Command(unshare, "--fork", "--pid", "--mount-proc",
		respawnBin, "--log-format=json", "--control=none", "--exit-when-buried",
		"{", "@long", "--stop-timeout=10s", "/nonexistent/long", "}",
		"{", "@short", "/nonexistent/short", "}"))
	t.Cleanup(func() {
		if !s.exited() {
			for _, pid := range descendants(s.Pid) {
				_ = unix.Kill(pid, unix.SIGKILL)
			}
			_ = unix.Kill(s.Pid, unix.SIGKILL)
			<-s.done
		}
		checkNoChildren(t)
		if t.Failed() {
			s.dumpLogs()
		}
	})
	if code := s.wait(); code != 127 {
		t.Errorf("exit status %d, want 127", code)
	}
	s.waitLog(1, msg("respawn started", "pid", 1, "pid1", true))
	l := s.waitLog(1, func(l map[string]any) bool {
		m, _ := l["msg"].(string)
		return strings.HasPrefix(m, "stop timeout not under")
	})
	if fmt.Sprint(l["servers"]) != "[long]" || l["level"] != "WARN" {
		t.Errorf("warned %v, want a WARN about server long only", l)
	}
}

// A live upgrade between an operator's stop and its deadline keeps the
// deadline: the new image kills the server that ignores its stop signal
// when its stop timeout has passed.
func TestOperatorStopDeadlineSurvivesUpgrade(t *testing.T) {
	ready := tempFile(t, "ready")
	s, sock := startCtl(t, "{", "@deaf", "--stop-timeout=1500ms", selfBin, "helper", "ignoreterm", ready, "}")
	pid := waitPidFile(t, ready)
	ctlOK(t, sock, "stop", "deaf")
	s.upgrade(1)
	if n := s.count(msg("stop timeout passed: killing")); n != 0 {
		t.Fatalf("killed before the upgrade: lengthen the stop timeout of this test")
	}
	s.waitLog(1, msg("stop timeout passed: killing", "name", "deaf", "pid", pid, "stop_signal", "SIGTERM", "timeout", "1.5s"))
	s.waitLog(1, msg("CREMATED", "name", "deaf", "exit", "signal SIGKILL"))
	s.stop()
}
