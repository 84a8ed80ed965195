// Command respawnctl is the operator's client of respawn's control socket:
//
//	respawnctl [--socket PATH] [--json] COMMAND [ARGS]
//
// It prints a readable table by default and the supervisor's JSON answers
// with --json. Its exit status is 0 only when the command succeeded, 1 when
// it failed, and 2 for a bad command line. control/PROTOCOL.md describes
// the socket.
package main

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"time"

	"github.com/spf13/pflag"

	"respawn/control"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// Exit statuses.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

const usageHead = `usage: respawnctl [--socket PATH] [--json] COMMAND [ARGS]

commands:
  list               every server and task: index, name, state, pid, uptime,
                     restarts, last exit, command
  status TARGET      one server or task
  revive [TARGET]    start TARGET again if it is buried; every buried one
                     without TARGET
  stop TARGET        SIGTERM to its process group; it is cremated when it ends
  start TARGET       start a cremated or buried server or task again, or a
                     dead one without waiting for its delay
  signal TARGET SIG  send SIG (HUP, SIGUSR1, 10, ...) to its process group
  upgrade            live upgrade: respawn re-executes its binary; waits for
                     the new image to answer
  dump               the info dump
  events             every state transition as it happens, until interrupted
  watch              the watch rules in force and the processes they watch
  watch PID|RULE     watch processes respawn did not start: one pid, or a
                     rule (exe:GLOB, name:NAME, regex:RE, pid:PID), or one of
                     --exe, --name, --regex, --pid; --action restart|notify
  watch --reload     respawn reads its --watch-file files again
  unwatch PID|RULE   remove a rule (or --exe, --name, --regex, --pid); a PID
                     alone: stop watching that process, whatever picked it
  fire-watchdog      reset the machine now through respawn's watchdog device
                     (--watchdog-device): timeout 1s, no magic close

TARGET is a name (see list) or an index. While respawn watches processes,
list shows them after the servers, and a SOURCE column.

flags:
`

// options are the parsed flags.
type options struct {
	socket  string
	json    bool
	timeout time.Duration
	wait    bool
	help    bool
	version bool
	watch   watchFlags
}

// verb is one command of the command line.
type verb struct {
	min, max int // how many arguments
	request  func(args []string) control.Request
}

var verbs = map[string]verb{
	"list":     {0, 0, plain("list")},
	"dump":     {0, 0, plain("dump")},
	"events":   {0, 0, plain("events")},
	"upgrade":  {0, 0, plain("upgrade")},
	"shutdown": {0, 0, plain("shutdown")},

	"fire-watchdog": {0, 0, plain("fire-watchdog")},
	"status":        {1, 1, targeted("status")},
	"stop":          {1, 1, targeted("stop")},
	"start":         {1, 1, targeted("start")},
	"restart":       {1, 1, targeted("restart")},
	"reload":        {1, 1, targeted("reload")},
	"revive":        {0, 1, targeted("revive")},
	"signal": {2, 2, func(a []string) control.Request {
		return control.Request{Cmd: "signal", Target: a[0], Signal: a[1]}
	}},
	"watch":   {0, 1, plain("watch")},
	"unwatch": {0, 1, plain("unwatch")},
}

// ruleArity is what arity says of the commands that take a PID or RULE.
var ruleArity = map[string]string{"watch": "takes at most one PID or RULE", "unwatch": "takes one PID or RULE"}

func plain(cmd string) func([]string) control.Request {
	return func([]string) control.Request { return control.Request{Cmd: cmd} }
}

func targeted(cmd string) func([]string) control.Request {
	return func(a []string) control.Request {
		r := control.Request{Cmd: cmd}
		if len(a) > 0 {
			r.Target = a[0]
		}
		return r
	}
}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	o, req, err := parseCommandLine(args, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "respawnctl: %v\n", err)
		return exitUsage
	}
	if o.help || o.version {
		return exitOK
	}
	c := &ctl{path: o.socket, json: o.json, timeout: o.timeout, out: stdout, err: stderr}
	if c.path == "" {
		if c.path, err = control.DefaultPath(); err != nil {
			fmt.Fprintln(stderr, "respawnctl: no socket path: XDG_RUNTIME_DIR is not set; give --socket PATH")
			return exitUsage
		}
	}
	switch req.Cmd {
	case "events":
		return c.events()
	case "upgrade":
		return c.upgrade()
	}
	return c.simple(req)
}

// parseCommandLine parses flags and the command. Help and version are
// printed here; o.help or o.version tells that nothing is left to do.
func parseCommandLine(args []string, out io.Writer) (*options, control.Request, error) {
	o := &options{}
	fs := pflag.NewFlagSet("respawnctl", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.StringVarP(&o.socket, "socket", "s", "", "the control socket (default /run/respawn/control.sock for root, $XDG_RUNTIME_DIR/respawn/control.sock otherwise)")
	fs.BoolVar(&o.json, "json", false, "print the supervisor's JSON answers, one per line")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "how long to wait for the supervisor's answer (restart and stop --wait: 2m)")
	fs.BoolVar(&o.wait, "wait", false, "stop: return once the server has ended")
	fs.BoolVarP(&o.help, "help", "h", false, "print this help and exit")
	fs.BoolVar(&o.version, "version", false, "print the version and exit")
	o.watch.add(fs)
	if err := fs.Parse(args); err != nil {
		if !errors.Is(err, pflag.ErrHelp) {
			return nil, control.Request{}, err
		}
		o.help = true
	}
	switch {
	case o.help:
		fmt.Fprint(out, usageHead+fs.FlagUsages())
		return o, control.Request{}, nil
	case o.version:
		fmt.Fprintln(out, "respawnctl", version)
		return o, control.Request{}, nil
	case o.timeout <= 0:
		return nil, control.Request{}, errors.New("--timeout must be more than 0")
	}
	req, err := parseVerb(fs.Args())
	if err != nil {
		return nil, req, err
	}
	if err := o.watch.apply(fs, &req, fs.Args()[1:]); err != nil {
		return nil, req, err
	}
	if o.wait {
		if req.Cmd != "stop" {
			return nil, req, fmt.Errorf("%s: --wait is for stop only", req.Cmd)
		}
		req.Wait = true
	}
	if waits(req) && !fs.Changed("timeout") {
		o.timeout = waitTimeout
	}
	return o, req, nil
}

// waitTimeout is the default --timeout of a command that waits for a
// server to end: longer than a usual stop timeout.
const waitTimeout = 2 * time.Minute

// waits reports whether req is answered only once a server has ended.
func waits(req control.Request) bool { return req.Cmd == "restart" || req.Wait }

func parseVerb(args []string) (control.Request, error) {
	if len(args) == 0 {
		return control.Request{}, errors.New("no command: try respawnctl --help")
	}
	v, ok := verbs[args[0]]
	if !ok {
		return control.Request{}, fmt.Errorf("unknown command %q%s", args[0], suggestVerb(args[0]))
	}
	rest := args[1:]
	if len(rest) < v.min || len(rest) > v.max {
		return control.Request{}, fmt.Errorf("%s: %s", args[0], cmp.Or(ruleArity[args[0]], arity(v)))
	}
	req := v.request(rest)
	if req.Signal != "" {
		if _, err := control.ParseSignal(req.Signal); err != nil {
			return control.Request{}, fmt.Errorf("%s: %w", args[0], err)
		}
	}
	return req, nil
}

// suggestVerb is "; did you mean "X"?" for a command one letter away from
// a known one, or ": try respawnctl --help".
func suggestVerb(cmd string) string {
	for _, v := range slices.Sorted(maps.Keys(verbs)) {
		if oneEdit(cmd, v) {
			return fmt.Sprintf("; did you mean %q?", v)
		}
	}
	return ": try respawnctl --help"
}

// oneEdit reports whether a becomes b by one insertion, deletion,
// substitution or swap of neighbours.
func oneEdit(a, b string) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	if a == b || len(b)-len(a) > 1 {
		return false
	}
	i := 0
	for i < len(a) && a[i] == b[i] {
		i++
	}
	switch {
	case len(a) < len(b):
		return a[i:] == b[i+1:]
	case i+1 < len(a) && a[i] == b[i+1] && a[i+1] == b[i]:
		return a[i+2:] == b[i+2:]
	}
	return a[i+1:] == b[i+1:]
}

func arity(v verb) string {
	switch {
	case v.max == 0:
		return "takes no argument"
	case v.min == 0:
		return "takes at most one TARGET"
	case v.max == 1:
		return "needs one TARGET"
	}
	return "needs TARGET and SIGNAL"
}
