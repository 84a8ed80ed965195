package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"respawn/control"
	"respawn/watch"
)

// watchFlags are the flags of watch and unwatch: a rule by its kind, the
// action of a new one, or a reload of respawn's --watch-file files.
type watchFlags struct {
	exe, name, regex, pid, action string
	reload                        bool
}

// ruleFlags are the flags that give a rule, with the kind each gives.
var ruleFlags = []struct {
	flag string
	kind watch.RuleKind
}{{"exe", watch.RuleExe}, {"name", watch.RuleName}, {"regex", watch.RuleRegex}, {"pid", watch.RulePid}}

func (w *watchFlags) add(fs *pflag.FlagSet) {
	fs.StringVar(&w.exe, "exe", "", "watch, unwatch: the rule of processes by executable path, a `GLOB` (/usr/sbin/*)")
	fs.StringVar(&w.name, "name", "", "watch, unwatch: the rule of processes by `NAME` (their comm, or argv[0]'s base name)")
	fs.StringVar(&w.regex, "regex", "", "watch, unwatch: the rule of processes by a regexp `RE` of their command line")
	fs.StringVar(&w.pid, "pid", "", "watch, unwatch: the rule of one process by its `PID`")
	fs.StringVar(&w.action, "action", "", "watch: what an abnormal exit does, `ACTION` restart or notify (default: restart for --exe, --pid)")
	fs.BoolVar(&w.reload, "reload", false, "watch: make respawn read its --watch-file files again")
}

func (w *watchFlags) value(flag string) string {
	switch flag {
	case "exe":
		return w.exe
	case "name":
		return w.name
	case "regex":
		return w.regex
	}
	return w.pid
}

// apply turns watch and unwatch, their argument and flags, into the
// request to send; any other command may carry none of the flags.
func (w *watchFlags) apply(fs *pflag.FlagSet, req *control.Request, args []string) error {
	var set []string
	for _, f := range []string{"exe", "name", "regex", "pid", "action", "reload"} {
		if fs.Changed(f) {
			set = append(set, "--"+f)
		}
	}
	switch {
	case req.Cmd == "watch":
		return w.watch(fs, req, args, set)
	case req.Cmd == "unwatch":
		return w.unwatch(fs, req, args, set)
	case len(set) > 0:
		return fmt.Errorf("%s: %s is for watch and unwatch only", req.Cmd, set[0])
	}
	return nil
}

// watch is the request of respawnctl watch: the list without argument
// or flag, a reload, or a new rule.
func (w *watchFlags) watch(fs *pflag.FlagSet, req *control.Request, args, set []string) error {
	switch {
	case w.reload && len(set) > 1 || w.reload && len(args) > 0:
		return errors.New("watch: --reload takes no rule")
	case w.reload:
		req.Cmd = "watch-reload"
		return nil
	case len(set) == 0 && len(args) == 0:
		req.Cmd = "watched"
		return nil
	}
	r, err := w.rule(fs, args)
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	if fs.Changed("action") {
		a, err := watch.ParseAction(w.action)
		switch {
		case err != nil:
			return fmt.Errorf("watch: --action: %s", words(err))
		case r.Action != watch.ActionDefault && r.Action != a:
			return fmt.Errorf("watch: two actions: %s in the rule, %s with --action", r.Action, a)
		}
		r.Action = a
	}
	req.Rule = r.String()
	return nil
}

// unwatch is the request of respawnctl unwatch: a rule to remove, or a
// pid alone, which is that process whatever rule picked it.
func (w *watchFlags) unwatch(fs *pflag.FlagSet, req *control.Request, args, set []string) error {
	if fs.Changed("action") || w.reload {
		return errors.New("unwatch: --action and --reload are for watch")
	}
	if len(set) == 0 && len(args) == 1 && isDigits(args[0]) {
		req.Rule = args[0]
		return nil
	}
	r, err := w.rule(fs, args)
	if err != nil {
		return fmt.Errorf("unwatch: %w", err)
	}
	req.Rule = r.String()
	return nil
}

// rule is the one rule given by a flag or as the argument (a rule as
// watch.ParseRule reads it, or a pid).
func (w *watchFlags) rule(fs *pflag.FlagSet, args []string) (watch.Rule, error) {
	var rules []watch.Rule
	for _, f := range ruleFlags {
		if fs.Changed(f.flag) {
			r, err := watch.NewRule(f.kind, w.value(f.flag), watch.ActionDefault)
			if err != nil {
				return watch.Rule{}, fmt.Errorf("--%s: %s", f.flag, words(err))
			}
			rules = append(rules, r)
		}
	}
	for _, a := range args {
		r, err := watch.ParseTarget(a)
		if err != nil {
			return watch.Rule{}, errors.New(words(err))
		}
		rules = append(rules, r)
	}
	switch len(rules) {
	case 0:
		return watch.Rule{}, errors.New("needs a PID, a RULE, or one of --exe, --name, --regex, --pid")
	case 1:
		return rules[0], nil
	}
	return watch.Rule{}, errors.New("one rule at a time")
}

// words is a watch error without the package's name.
func words(err error) string { return strings.TrimPrefix(err.Error(), "watch: ") }

func isDigits(s string) bool { return s != "" && strings.Trim(s, "0123456789") == "" }
