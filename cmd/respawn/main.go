// Command respawn supervises the servers given on its command line:
//
//	respawn [flags] { CMD ARG... } [{ CMD ARG... } ...]
//
// See README.md for the flags, signals and states.
package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"respawn/respawn"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

type slogLevel = slog.Level

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	o, groups, err := parseCommandLine(args, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "respawn: %v\n", err)
		return respawn.ExitUsage
	}
	if groups == nil {
		return 0
	}
	log := newLogger(o, stderr)
	cfg := respawn.Config{
		Interval:     time.Duration(o.interval),
		StopTimeout:  time.Duration(o.stopTimeout),
		Alarm:        time.Duration(o.alarm),
		LeaveRunning: o.leaveRunning,
		Linger:       o.linger,
		Log:          log,
		Dump:         stderr,
		DumpJSON:     o.logFormat == "json",
	}
	specs := make([]respawn.Spec, len(groups))
	for i, g := range groups {
		specs[i] = respawn.Spec{Name: g.name, Argv: g.argv}
	}
	s := respawn.New(cfg, specs)
	if err := addControl(s, o, log); err != nil {
		fmt.Fprintf(stderr, "respawn: %v\n", err)
		return respawn.ExitUsage
	}
	return s.Run()
}

func newLogger(o *options, w io.Writer) *slog.Logger {
	level, _ := parseLevel(o.logLevel)
	ho := &slog.HandlerOptions{Level: level}
	if o.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, ho))
	}
	return slog.New(slog.NewTextHandler(w, ho))
}
