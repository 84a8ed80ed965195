package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"respawn/respawn"
)

// options are the parsed flags.
type options struct {
	interval     seconds
	alarm        seconds
	stopTimeout  seconds
	retries      int
	leaveRunning bool
	linger       bool
	exitBuried   bool
	onExit       onExitFlag
	logFormat    string
	logLevel     string
	control      string
	output       string
	help         bool
	version      bool
	watch        watchFlags
	acct         acctFlags
	watchdog     watchdogFlags
	heartbeat    dirFlag // --heartbeat-dir

	// The live upgrade's own flags: the new image is started with them.
	reExec       bool
	stateFD      int
	pending      string
	upgradeCheck int
}

// seconds is a duration flag that also takes mds-respawn's plain integer
// seconds: --interval=5 and --interval=200ms both work.
type seconds time.Duration

func (s *seconds) String() string { return time.Duration(*s).String() }
func (s *seconds) Type() string   { return "duration" }

func (s *seconds) Set(v string) error {
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		if !(n >= 0 && n <= 1e9) { // NaN too
			return fmt.Errorf("%q is out of range", v)
		}
		*s = seconds(time.Duration(n * float64(time.Second)))
		return nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return fmt.Errorf("%q is neither seconds nor a duration like 200ms", v)
	}
	if d < 0 {
		return fmt.Errorf("%q is negative", v)
	}
	*s = seconds(d)
	return nil
}

const usageHead = `usage: respawn [flags] { CMD ARG... } [{ CMD ARG... } ...]

Starts each CMD, restarts the ones that die abnormally, buries the ones that
die sooner than --interval after their start more than --retries times in a
row. A group may start with @NAME to name its server. SIGUSR1: info dump;
SIGUSR2: revive the buried; SIGTERM/SIGINT: stop everything; SIGHUP: live
upgrade.

A group may then give its server settings, --KEY=VALUE words before CMD
('--' ends them, and must come before a CMD that starts with '-'):
  { @web --user=www-data --cwd=/srv/www --env=KEY=VALUE --umask=027 nginx }
  --user --group --groups --cwd --env --unset-env --env-file --umask --nice,
  the limits --nofile --nproc --core --as --memlock --data --fsize --cpu
  --sigpending --msgqueue --rtprio, --stop-signal --stop-timeout --kill-mode
  --reload-signal --retries --output --log-file --log-max --log-keep.
  See README, "Per-server settings".

--watch-* rules watch processes respawn did not start (the proc connector),
and restart one that dies abnormally as a server of its own; no server is
needed then. See README, "Watching processes respawn did not start".

flags:
`

func newFlagSet(o *options) *pflag.FlagSet {
	fs := pflag.NewFlagSet("respawn", pflag.ContinueOnError)
	fs.SetInterspersed(false) // the first '{' ends the flags
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	o.interval = seconds(5 * time.Second)
	o.stopTimeout = seconds(respawn.DefaultStopTimeout)
	fs.Var(&o.interval, "interval", "do-not-resuscitate period: a server that dies abnormally sooner than this after its start is buried (seconds, or a duration like 200ms)")
	fs.IntVar(&o.retries, "retries", 3, "restarts after a death sooner than --interval, 100ms apart then doubling, before burial (0: bury at once; a group's --retries= overrides it)")
	fs.Var(&o.alarm, "alarm", "abort if start-up has not finished within this time (at most 60s; 0: off)")
	fs.Var(&o.stopTimeout, "stop-timeout", "when stopping, wait this long after a server's stop signal before SIGKILL (0: SIGKILL at once, no stop signal); a group's --stop-timeout overrides it")
	fs.BoolVar(&o.leaveRunning, "leave-running", false, "on SIGTERM/SIGINT, exit and leave the servers running")
	fs.BoolVar(&o.linger, "linger", false, "keep running when no server is left")
	fs.BoolVar(&o.exitBuried, "exit-when-buried", false, "exit as soon as no server can run and one is buried: 127 if its program was not found, 126 if it could not be executed, 1 otherwise (a container's PID 1)")
	fs.Var(&o.onExit, "on-exit", "as the PID 1 of a machine (not of a container), what the end does instead of exiting: poweroff, reboot or halt (elsewhere respawn exits, and this has no effect)")
	fs.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&o.output, "output", "capture", "servers' stdout and stderr: capture (pipes respawn reads, lines tagged with the server's name in respawn's log) or inherit (respawn's own); a group's --output overrides it")
	fs.StringVar(&o.control, "control", "", "control socket path, or none (default /run/respawn/control.sock for root, $XDG_RUNTIME_DIR/respawn/control.sock otherwise)")
	addWatchFlags(fs, &o.watch)
	addAcctFlags(fs, &o.acct)
	addWatchdogFlags(fs, &o.watchdog)
	addHeartbeatFlags(fs, &o.heartbeat)
	fs.BoolVarP(&o.help, "help", "h", false, "print this help and exit")
	fs.BoolVar(&o.version, "version", false, "print the version and exit")
	fs.BoolVar(&o.reExec, "re-exec", false, "started by a live upgrade")
	fs.IntVar(&o.stateFD, "state-fd", -1, "the upgrade snapshot's descriptor")
	fs.StringVar(&o.pending, "pending-signals", "", "signals to handle first after an upgrade")
	fs.IntVar(&o.upgradeCheck, "upgrade-check", -1, "say whether this binary reads snapshot version N, and exit")
	for _, f := range []string{"re-exec", "state-fd", "pending-signals", "upgrade-check"} {
		_ = fs.MarkHidden(f)
	}
	return fs
}

// parseCommandLine parses flags and groups. A nil group list with a nil
// error means help or version was asked for.
func parseCommandLine(args []string, out io.Writer) (*options, []group, error) {
	o := &options{}
	fs := newFlagSet(o)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			o.help = true
		} else {
			return nil, nil, err
		}
	}
	if o.help {
		fmt.Fprint(out, usageHead+fs.FlagUsages())
		return o, nil, nil
	}
	if o.version {
		fmt.Fprintln(out, "respawn", version)
		return o, nil, nil
	}
	if o.upgradeCheck >= 0 && o.stateFD < 0 {
		return o, nil, nil // an older supervisor's check: no snapshot to dry-run
	}
	if err := o.check(); err != nil {
		return nil, nil, err
	}
	if err := o.watch.load(!o.reExec && o.upgradeCheck < 0); err != nil {
		return nil, nil, err
	}
	groups, err := parseGroups(fs.Args())
	if errors.Is(err, errNoGroup) && (o.watch.watching() || o.acct.on || o.heartbeat.set) {
		groups, err = []group{}, nil // watching or accounting only, as armourd and atopacctd do
	}
	if err == nil {
		err = checkStartable(groups, o.reExec || o.upgradeCheck >= 0)
	}
	if err != nil {
		return nil, nil, err
	}
	return o, groups, nil
}

// stopGrace is --stop-timeout as respawn.Config takes it: 0 there
// means the default, and --stop-timeout=0 means no grace at all.
func (o *options) stopGrace() time.Duration {
	if o.stopTimeout == 0 {
		return respawn.StopAtOnce
	}
	return time.Duration(o.stopTimeout)
}

func (o *options) check() error {
	switch {
	case time.Duration(o.interval) == 0:
		return errors.New("--interval must be more than 0")
	case o.retries < 0 || o.retries > maxRetries:
		return fmt.Errorf("--retries=%d: want a number from 0 to %d", o.retries, maxRetries)
	case time.Duration(o.alarm) > 60*time.Second:
		return errors.New("--alarm is at most 60s")
	case o.logFormat != "text" && o.logFormat != "json":
		return fmt.Errorf("--log-format %q: want text or json", o.logFormat)
	}
	if _, err := parseLevel(o.logLevel); err != nil {
		return err
	}
	if _, err := parseOutput(o.output); err != nil {
		return fmt.Errorf("--output: %w", err)
	}
	if err := o.acct.check(); err != nil {
		return err
	}
	if err := o.watchdog.check(); err != nil {
		return err
	}
	return o.watch.check()
}

func parseLevel(s string) (l slogLevel, err error) {
	err = l.UnmarshalText([]byte(strings.ToUpper(s)))
	if err != nil {
		err = fmt.Errorf("--log-level %q: want debug, info, warn or error", s)
	}
	return l, err
}
