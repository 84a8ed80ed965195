package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"

	"github.com/spf13/pflag"

	"respawn/respawn"
	"respawn/watch"
)

// Environment variables of the watch task, for tests and the benchmark:
// the socket's receive buffer in bytes, and "off" to attach no BPF filter.
const (
	watchRcvBufEnv = "RESPAWN_WATCH_RCVBUF"
	watchBPFEnv    = "RESPAWN_WATCH_BPF"
)

// watchFlags collects the --watch-* flags in the order given: pflag sets
// them in that order, so --watch-action applies to the rule flags after
// it, up to the next --watch-action.
type watchFlags struct {
	action watch.Action
	rules  []watch.Rule
	files  []respawn.WatchFile
	buffer int
}

// watching reports whether any rule or file was given.
func (w *watchFlags) watching() bool { return len(w.rules) > 0 || len(w.files) > 0 }

// ruleFlag is one of --watch-exe, --watch-name, --watch-regex, --watch-pid.
type ruleFlag struct {
	w    *watchFlags
	kind watch.RuleKind
}

func (f ruleFlag) String() string { return "" }
func (f ruleFlag) Type() string   { return "rule" }

func (f ruleFlag) Set(v string) error {
	r, err := watch.NewRule(f.kind, v, f.w.action)
	if err != nil {
		return err
	}
	f.w.rules = append(f.w.rules, r)
	return nil
}

// pidExists refuses a --watch-pid of a process that is not there, or that
// could never be watched: a kernel thread (no program to restart), a
// zombie (it has ended), respawn itself.
func pidExists(v string) error {
	pid, err := strconv.Atoi(v)
	if err != nil {
		return err
	}
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("no process %d", pid)
	}
	if pid == os.Getpid() {
		return errors.New("that is respawn itself")
	}
	id, err := watch.ReadIdent(pid)
	switch {
	case err != nil:
		return fmt.Errorf("process %d: %w", pid, err)
	case id.Zombie:
		return fmt.Errorf("process %d has ended (a zombie)", pid)
	case id.Exe == "" && len(id.Argv) == 0:
		return fmt.Errorf("process %d is a kernel thread: it has no program to restart", pid)
	}
	return nil
}

// actionFlag is --watch-action.
type actionFlag struct{ w *watchFlags }

func (f actionFlag) String() string { return "" }
func (f actionFlag) Type() string   { return "restart|notify" }

func (f actionFlag) Set(v string) error {
	a, err := watch.ParseAction(v)
	if err != nil {
		return err
	}
	f.w.action = a
	return nil
}

// fileFlag is --watch-file: the file is read once the flags are parsed
// (see load), so that a mistake in it is refused before anything starts.
type fileFlag struct{ w *watchFlags }

func (f fileFlag) String() string { return "" }
func (f fileFlag) Type() string   { return "file" }

func (f fileFlag) Set(v string) error {
	f.w.files = append(f.w.files, respawn.WatchFile{Path: v, Action: f.w.action})
	return nil
}

// load reads the --watch-files and checks that each --watch-pid exists.
// For a new image of a live upgrade (strict false) neither may fail: the
// rules in force come from the snapshot, and a watched pid that has ended
// since the first start is no reason to lose every server.
func (w *watchFlags) load(strict bool) error {
	for _, f := range w.files {
		rules, err := watch.ReadArmourd(f.Path, f.Action)
		if err != nil && strict {
			return fmt.Errorf("--watch-file: %w", err)
		}
		w.rules = append(w.rules, rules...)
	}
	for _, r := range w.rules {
		if r.Kind != watch.RulePid || !strict {
			continue
		}
		if err := pidExists(r.Pattern); err != nil {
			return fmt.Errorf("--watch-pid=%s: %w", r.Pattern, err)
		}
	}
	return nil
}

func addWatchFlags(fs *pflag.FlagSet, w *watchFlags) {
	fs.Var(ruleFlag{w, watch.RuleExe}, "watch-exe", "watch the processes whose executable (/proc/PID/exe) matches this glob, started by respawn or not (repeatable; action restart unless --watch-action says otherwise)")
	fs.Var(ruleFlag{w, watch.RuleName}, "watch-name", "watch the processes of exactly this name (comm, or the base name of argv[0]) (repeatable; action notify by default)")
	fs.Var(ruleFlag{w, watch.RuleRegex}, "watch-regex", "watch the processes whose command line (argv joined by spaces) matches this regular expression (repeatable; action notify by default)")
	fs.Var(ruleFlag{w, watch.RulePid}, "watch-pid", "watch the process with this pid, which must exist (repeatable; action restart by default)")
	fs.Var(actionFlag{w}, "watch-action", "what the death of a watched process does, for the --watch-* rules and files after it: restart (as respawn's own server) or notify (an event only)")
	fs.Var(fileFlag{w}, "watch-file", "read watch rules from an armourd configuration file: one executable path or glob a line, # comments (respawnctl watch --reload rereads it)")
	fs.IntVar(&w.buffer, "watch-buffer", respawn.DefaultWatchBuffer, "process events held between the kernel socket's reader and the event loop; more are dropped, counted and logged")
}

// watchConfig is the watch task's configuration, or nil without rules.
func watchConfig(w *watchFlags) *respawn.WatchConfig {
	if !w.watching() {
		return nil
	}
	cfg := &respawn.WatchConfig{Rules: w.rules, Files: w.files, Buffer: w.buffer}
	if n, err := strconv.Atoi(os.Getenv(watchRcvBufEnv)); err == nil && n > 0 {
		cfg.Options.RcvBuf = n
	}
	cfg.Options.NoFilter = os.Getenv(watchBPFEnv) == "off"
	return cfg
}

func (w *watchFlags) check() error {
	if w.buffer < 1 || w.buffer > 1<<20 {
		return fmt.Errorf("--watch-buffer=%d: want 1 to %d", w.buffer, 1<<20)
	}
	return nil
}

// watchServable refuses watch rules that nothing could serve: no server
// is given, and the proc connector cannot be opened here (respawn as PID
// 1 of a container, an unprivileged user). With servers, the task is
// buried with its reason instead, and the servers run.
func watchServable(o *options, groups []group) error {
	if len(groups) > 0 || !o.watch.watching() || o.reExec {
		return nil
	}
	c, err := watch.Open(watchConfig(&o.watch).Options)
	if err != nil {
		return fmt.Errorf("--watch rules cannot be served, and no server is given: %w", err)
	}
	return c.Close()
}
