//go:build linux

package respawn

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"respawn/marshal"
	"respawn/reexec"
)

// Flags of the live upgrade, as the new image is started with them.
const (
	FlagPending      = "--pending-signals"
	FlagUpgradeCheck = "--upgrade-check"
)

// held are the signals kept pending by the kernel across execve: they are
// blockable, so the new image's runtime leaves them blocked until it routes
// them, and then they are delivered. SIGCHLD is among them, though the new
// image sweeps wait4 first anyway.
var held = []syscall.Signal{unix.SIGCHLD, unix.SIGUSR1, unix.SIGUSR2, unix.SIGWINCH}

// ignoredAcross are the signals the Go runtime unblocks before main: one
// pending at execve would end the new image, so they are ignored from the
// last drain until the new image routes them in its first package init.
var ignoredAcross = []os.Signal{unix.SIGHUP, unix.SIGINT, unix.SIGTERM, unix.SIGQUIT}

// execUpgrade re-executes the supervisor's binary in this process with a
// fresh snapshot (the servers may have changed while the pre-flight ran),
// so that every server stays its child. It runs on the event loop. On
// success it does not return; an error means the exec failed and nothing
// changed.
func (s *Supervisor) execUpgrade() error {
	if !s.pauseWatch() {
		s.log.Warn("watch: the reader did not pause for the upgrade: events it reads are handled by this image")
	}
	defer s.resumeWatch() // reached only if the exec did not happen
	s.freezeAcct()
	defer s.thawAcct() // reached only if the exec did not happen
	s.freezeWatchdog()
	defer s.thawWatchdog() // reached only if the exec did not happen
	s.flushLogs()          // nothing queued may be lost to execve
	s.freezeHeartbeat()
	defer s.thawHeartbeat() // reached only if the exec did not happen
	snap := s.snapshot()
	if h := s.cfg.Capture; h != nil {
		s.pauseCapture(h)
		defer h.Resume() // reached only if the exec did not happen
	}
	s.log.Info("upgrading", "binary", s.cfg.Binary, "generation", s.generation+1)
	if c := s.cfg.Carry; c != nil {
		// Taken last, so that the line above travels with them.
		snap.Logs, snap.LogsDropped = c.Handover()
		defer c.Resume()                        // reached only if the exec did not happen
		if len(snap.Logs) > marshal.MaxString { // one huge dump: keep the newest whole lines
			cut := snap.Logs[len(snap.Logs)-marshal.MaxString:]
			snap.Logs = cut[bytes.IndexByte(cut, '\n')+1:]
			snap.LogsDropped++
		}
	}
	state, err := marshal.Encode(snap)
	if err != nil {
		return fmt.Errorf("respawn: upgrade: %w", err)
	}
	return s.execWindow(state)
}

// execWindow is the exec window: stop signals ignored, the last drain of
// the signal channels, execve. A stop signal found by that drain ends the
// upgrade here: it is handled by this image, with no exec window to lose
// it in. On return, nothing changed.
func (s *Supervisor) execWindow(state []byte) error {
	signal.Ignore(ignoredAcross...)
	pending := s.drainSignals()
	if hasStop(pending) {
		s.route()
		s.replay(pending)
		return errors.New("respawn: upgrade: a stop signal came first")
	}
	args := append([]string{FlagPending + "=" + signalList(pending)}, s.cfg.Args...)
	s.systemdReloading()
	err := reexec.Exec(s.cfg.Binary, args, s.upgradeEnv(), state, s.keptFDs(), held)
	s.systemdReloadFailed()
	s.route()
	s.replay(pending)
	return fmt.Errorf("respawn: upgrade: %w", err)
}

// readBounded reads r until EOF, n bytes, or r's read deadline, and
// reports whether the deadline ended it.
func readBounded(r *os.File, n int) ([]byte, bool) {
	var b bytes.Buffer
	buf := make([]byte, 512)
	for b.Len() < n {
		k, err := r.Read(buf)
		b.Write(buf[:k])
		if err != nil {
			return b.Bytes(), errors.Is(err, os.ErrDeadlineExceeded)
		}
	}
	return b.Bytes(), false
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// drainSignals takes every signal waiting on the channels, to carry to
// the new image. Each kind comes once (its channel is a pending flag),
// except stop signals, of which two are kept (the second kills at once).
// They come in a fixed order, stop signals last, so that a dump after a
// revival shows the revival. The upgrade signal itself and SIGPIPE (which
// is nothing to act on) are dropped.
func (s *Supervisor) drainSignals() []os.Signal {
	var out []os.Signal
	for _, c := range []chan os.Signal{s.sig.Child, s.sig.Revive, s.sig.Dump, s.sig.Winch, s.sig.Stop} {
		out = drainChan(out, c)
	}
	drainChan(nil, s.sig.Upgrade)
	drainChan(nil, s.sig.Pipe)
	return out
}

// drainChan appends to out what c holds, without waiting.
func drainChan(out []os.Signal, c chan os.Signal) []os.Signal {
	for {
		select {
		case sig := <-c:
			out = append(out, sig)
		default:
			return out
		}
	}
}

func hasStop(sigs []os.Signal) bool {
	for _, sig := range sigs {
		switch sig {
		case unix.SIGTERM, unix.SIGINT, unix.SIGQUIT:
			return true
		}
	}
	return false
}

// replay handles signals carried over an upgrade (or kept back by a
// failed one), in order.
func (s *Supervisor) replay(sigs []os.Signal) {
	for _, sig := range sigs {
		s.onSignal(sig)
	}
}

func signalList(sigs []os.Signal) string {
	names := make([]string, 0, len(sigs))
	for _, sig := range sigs {
		if n, ok := sig.(syscall.Signal); ok {
			names = append(names, strconv.Itoa(int(n)))
		}
	}
	return strings.Join(names, ",")
}

// ParseSignalList parses the value of --pending-signals: signal numbers
// separated by commas, each one respawn handles.
func ParseSignalList(v string) ([]os.Signal, error) {
	if v == "" {
		return nil, nil
	}
	var out []os.Signal
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(f)
		if err != nil || !isHandled(syscall.Signal(n)) {
			return nil, fmt.Errorf("respawn: %s: %q is not a signal respawn handles", FlagPending, f)
		}
		out = append(out, syscall.Signal(n))
	}
	return out, nil
}

func isHandled(sig syscall.Signal) bool {
	for _, h := range Handled() {
		if h == sig {
			return true
		}
	}
	return false
}

func (s *Supervisor) keptFDs() []int {
	fds := make([]int, len(s.cfg.Keep))
	for i, k := range s.cfg.Keep {
		fds[i] = k.FD
	}
	return s.outputFDs(fds)
}
