package main

import (
	"os"

	"respawn/respawn"
)

// onExitFlag is --on-exit: what the end of respawn does to a machine
// whose PID 1 it is.
type onExitFlag struct{ how respawn.OnExit }

func (f *onExitFlag) String() string { return f.how.String() }
func (f *onExitFlag) Type() string   { return "action" }

func (f *onExitFlag) Set(v string) (err error) {
	f.how, err = respawn.ParseOnExit(v)
	return err
}

// end ends the process with status code, as the command line argv asks:
// an exit, or as the machine's PID 1 a power off, reboot or halt (see
// respawn.End). The flags are read again, so that a command line that
// failed to parse still ends the machine (by powering it off, unless
// --on-exit came before the fault).
func end(argv []string, code int) {
	o := &options{}
	_ = newFlagSet(o).Parse(argv[1:])
	respawn.End(code, o.onExit.how, newLogger(o, os.Stderr), nil)
}
