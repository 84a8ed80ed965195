// Command respawn supervises the servers given on its command line:
//
//	respawn [flags] { CMD ARG... } [{ CMD ARG... } ...]
//
// See README.md for the flags, signals and states.
package main

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"respawn/capture"
	"respawn/internal/earlysig"
	"respawn/internal/logbuf"
	"respawn/marshal"
	"respawn/notify"
	"respawn/reexec"
	"respawn/respawn"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

type slogLevel = slog.Level

// main exits with run's status, or as the PID 1 of a machine powers it
// off (see end): an init must not exit.
func main() { end(os.Args, run(os.Args, os.Stdout, os.Stderr)) }

func run(argv []string, stdout, stderr io.Writer) int {
	reexec.CloseOnExecInherited() // servers get 0, 1 and 2 only
	args := argv[1:]
	o, groups, err := parseCommandLine(args, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "respawn: %v\n", err)
		return respawn.ExitUsage
	}
	if o != nil && o.upgradeCheck >= 0 {
		return upgradeCheck(o, groups, argv, stdout)
	}
	if groups == nil {
		return 0
	}
	if err := watchServable(o, groups); err != nil {
		fmt.Fprintf(stderr, "respawn: %v\n", err)
		return respawn.ExitUsage
	}
	if err := acctStartable(o); err != nil {
		fmt.Fprintf(stderr, "respawn: %v\n", err)
		return respawn.ExitUsage
	}
	var ahead *respawn.ChildStats
	if o.reExec {
		ahead = respawn.ReadChildStats()
	}
	snap, snapBytes, snapErr := inherited(o)
	out := logbuf.New(stderr, logBufSize, droppedLine(o))
	defer out.Flush(flushTimeout)
	if snap != nil {
		out.Carry(snap.Logs, snap.LogsDropped) // the old image's, first
	}
	log := newLogger(o, out)
	pending, err := respawn.ParseSignalList(o.pending)
	if err != nil {
		log.Warn("respawn: pending signals dropped", "err", err)
	}
	cfg := config(o, argv, log, out, pending)
	cfg.SnapshotBytes = snapBytes
	cfg.Capture = capture.New(capture.Config{Sink: out, JSON: o.logFormat == "json", Log: log})
	s := respawn.New(cfg, specsOf(groups))
	if err := s.CheckRequire(); err != nil && !o.reExec {
		fmt.Fprintf(stderr, "respawn: %v\n", err)
		return respawn.ExitUsage
	}
	if err := addControl(s, o, log, snap); err != nil {
		fmt.Fprintf(stderr, "respawn: %v\n", err)
		if !o.reExec {
			return respawn.ExitUsage
		}
	}
	if o.reExec {
		restore(s, snap, ahead, snapErr)
	}
	reserveThreads(spareThreads)
	return s.Run()
}

// config is the supervisor's configuration from the command line.
func config(o *options, argv []string, log *slog.Logger, out io.Writer, pending []os.Signal) respawn.Config {
	cfg := respawn.Config{
		Interval:     time.Duration(o.interval),
		Retries:      o.retries,
		StopTimeout:  o.stopGrace(),
		Alarm:        time.Duration(o.alarm),
		LeaveRunning: o.leaveRunning,
		Linger:       o.linger,
		Log:          log,
		Dump:         out,
		DumpJSON:     o.logFormat == "json",
		Signals:      earlySignals(),
		Binary:       binaryPath(argv[0], log),
		Args:         userArgs(argv[1:]),
		Pending:      pending,
		LogFormat:    o.logFormat,
		LogLevel:     o.logLevel,
		Control:      o.control,
		Version:      version,
	}
	cfg.Output, _ = parseOutput(o.output) // checked by parseCommandLine
	if lb, ok := out.(*logbuf.Writer); ok {
		cfg.Flush = func() { lb.Flush(flushTimeout) }
		cfg.Carry = lb
	}
	cfg.ExitWhenBuried = o.exitBuried
	cfg.OnExit = o.onExit.how
	cfg.Watch = watchConfig(&o.watch)
	cfg.Acct = acctConfig(&o.acct)
	cfg.Watchdog = watchdogConfig(&o.watchdog)
	cfg.Require = o.watchdog.require
	cfg.Heartbeat = heartbeatConfig(&o.heartbeat)
	return cfg
}

func specsOf(groups []group) []respawn.Spec {
	specs := make([]respawn.Spec, len(groups))
	for i, g := range groups {
		specs[i] = respawn.Spec{Name: g.name, Argv: g.argv, Settings: g.settings}
	}
	return specs
}

// earlySignals are the channels earlysig routed the signals to in its
// init, as the supervisor takes them.
func earlySignals() *respawn.Signals {
	return &respawn.Signals{
		Stop: earlysig.Stop, Child: earlysig.Child, Dump: earlysig.Dump, Revive: earlysig.Revive,
		Upgrade: earlysig.Upgrade, Winch: earlysig.Winch, Pipe: earlysig.Pipe,
	}
}

// inherited reads the snapshot a live upgrade left, and closes every
// inherited descriptor it does not claim. It returns nil, nil when this
// is not a re-exec.
func inherited(o *options) (*marshal.Snapshot, int, error) {
	if !o.reExec {
		return nil, 0, nil
	}
	var snap *marshal.Snapshot
	open := reexec.Inherited()
	delete(open, o.stateFD) // ReadState closes it: its number is free again
	b, err := reexec.ReadState(o.stateFD)
	if err == nil {
		snap, err = marshal.Decode(b)
	}
	keep := map[int]bool{}
	if snap != nil {
		// A role whose descriptor was not handed over is dropped (its
		// subsystem opens anew): adopting it would take, and on refusal
		// close, whatever this image opens under that number.
		snap.FDs = slices.DeleteFunc(snap.FDs, func(fd marshal.FD) bool { return !open[fd.FD] })
		for _, fd := range snap.FDs {
			keep[fd.FD] = true
		}
		for _, rec := range snap.Records {
			for _, fd := range rec.Out { // captured servers' pipes
				keep[fd] = true
			}
		}
	}
	reexec.CloseInherited(keep)
	return snap, len(b), err
}

// restore applies the snapshot, or recovers from /proc without one.
func restore(s *respawn.Supervisor, snap *marshal.Snapshot, ahead *respawn.ChildStats, err error) {
	if err == nil {
		err = s.Restore(snap, ahead)
	}
	if err != nil {
		s.Recover(err)
	}
}

// upgradeCheck answers a live upgrade's pre-flight. Started by a
// supervisor as "--upgrade-check=V --state-fd=N ARGS..." (ARGS: its flags
// and groups), it reads the snapshot at N as the new image would, dry-runs
// the restore, and answers the digest of what it read, which the
// supervisor compares with its own. The older form without --state-fd
// (a supervisor of an older release) is answered as it always was: it
// cannot ask for more, and a binary of this release is the real thing.
func upgradeCheck(o *options, groups []group, argv []string, w io.Writer) int {
	v := o.upgradeCheck
	if !marshal.CanRead(v) {
		fmt.Fprintf(w, "respawn upgrade-check: cannot read snapshot version %d (reads %d to %d)\n", v, marshal.MinVersion, marshal.Version)
		return 1
	}
	if o.stateFD < 0 {
		fmt.Fprintf(w, "respawn upgrade-check: ok (reads snapshot versions %d to %d)\n", marshal.MinVersion, marshal.Version)
		return 0
	}
	snap, err := checkSnapshot(o, groups, argv)
	if err != nil {
		fmt.Fprintf(w, "respawn upgrade-check: %v\n", err)
		return 1
	}
	fmt.Fprintf(w, "respawn upgrade-check: ok (reads snapshot versions %d to %d) records=%d digest=%s\n",
		marshal.MinVersion, marshal.Version, len(snap.Records), marshal.Digest(snap))
	return 0
}

// checkSnapshot is the new image's start after a live upgrade, short of
// adopting and spawning: read and decode the snapshot, check its flags
// and kept descriptors, and restore the records into a supervisor built
// from the same command line.
func checkSnapshot(o *options, groups []group, argv []string) (*marshal.Snapshot, error) {
	b, err := reexec.ReadState(o.stateFD)
	if err != nil {
		return nil, err
	}
	snap, err := marshal.Decode(b)
	if err != nil {
		return nil, err
	}
	if err := checkSnapshotFlags(snap.Flags); err != nil {
		return nil, err
	}
	for _, fd := range snap.FDs {
		if !keptRole(fd.Role) {
			return nil, fmt.Errorf("kept descriptor %d has the role %q, which this binary would not adopt", fd.FD, fd.Role)
		}
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s := respawn.New(config(o, argv, log, io.Discard, nil), specsOf(groups))
	if err := s.CheckRestore(snap); err != nil {
		return nil, err
	}
	return snap, nil
}

// checkSnapshotFlags refuses recorded flags this binary would not take on
// its command line.
func checkSnapshotFlags(f marshal.Flags) error {
	if f.LogFormat != "" && f.LogFormat != "text" && f.LogFormat != "json" {
		return fmt.Errorf("snapshot: --log-format %q", f.LogFormat)
	}
	if f.LogLevel != "" {
		if _, err := parseLevel(f.LogLevel); err != nil {
			return fmt.Errorf("snapshot: %w", err)
		}
	}
	return nil
}

// binaryPath is the absolute path the supervisor was started from, which
// a live upgrade executes again: a package upgrade replaces the file
// there, while /proc/self/exe would still name the old inode.
func binaryPath(arg0 string, log *slog.Logger) string {
	p := arg0
	if !strings.Contains(p, "/") {
		lp, err := exec.LookPath(p)
		if err != nil {
			log.Warn("respawn: own binary not found in $PATH: live upgrade unavailable", "err", err)
			return ""
		}
		p = lp
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return ""
	}
	return abs
}

// userArgs drops the live upgrade's own flags, which a re-exec puts first.
func userArgs(args []string) []string {
	for len(args) > 0 && (args[0] == "--re-exec" || strings.HasPrefix(args[0], "--state-fd=") ||
		strings.HasPrefix(args[0], "--pending-signals=")) {
		args = args[1:]
	}
	return args
}

// The log buffer: what the event loop writes waits there for the writer
// goroutine, up to logBufSize bytes (at most marshal.MaxString, as a live
// upgrade carries what is left in the snapshot); at exit it is given
// flushTimeout to drain.
const (
	logBufSize   = 1 << 20
	flushTimeout = 200 * time.Millisecond
)

// droppedLine formats the report of n dropped log writes as a log line in
// the format in use.
func droppedLine(o *options) func(n uint64) []byte {
	return func(n uint64) []byte {
		var b bytes.Buffer
		newLogger(o, &b).Warn("respawn: log lines dropped", "dropped", n)
		return b.Bytes()
	}
}

func newLogger(o *options, w io.Writer) *slog.Logger {
	level, _ := parseLevel(o.logLevel)
	ho := &slog.HandlerOptions{Level: level}
	if o.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, ho))
	}
	return slog.New(slog.NewTextHandler(w, ho))
}

// keptRoles are the kept descriptors this binary adopts after a live
// upgrade.
var keptRoles = map[string]bool{
	controlRole: true, respawn.WatchRole: true, respawn.AcctSourceRole: true, respawn.AcctShadowRole: true,
	respawn.WatchdogRole: true,
	notify.Role:          true,
}
