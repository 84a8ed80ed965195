package main

import (
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/pflag"

	"respawn/acct"
	"respawn/respawn"
)

// Environment variables of the acct task, for tests and the benchmark:
// durations (as time.ParseDuration reads them) in place of atopacctd's
// gc interval of shadow files and its hour without a record.
const (
	acctGCEnv       = "RESPAWN_ACCT_GC"
	acctNoRecordEnv = "RESPAWN_ACCT_NORECORD"
)

// acctFlags are --acct and --acct-dir.
type acctFlags struct {
	on  bool
	dir dirFlag
}

// dirFlag is --acct-dir; set tells a directory given from the default.
type dirFlag struct {
	path string
	set  bool
}

func (f *dirFlag) String() string { return f.path }
func (f *dirFlag) Type() string   { return "DIR" }

// Set takes the directory as an absolute path: the kernel and a live
// upgrade's snapshot need one, whatever the working directory.
func (f *dirFlag) Set(v string) error {
	abs, err := filepath.Abs(v)
	if err != nil {
		return err
	}
	f.path, f.set = abs, true
	return nil
}

func addAcctFlags(fs *pflag.FlagSet, a *acctFlags) {
	a.dir.path = acct.DefaultDir
	fs.BoolVar(&a.on, "acct", false, "run process accounting as atop's atopacctd does (the kernel's records copied to shadow files an unmodified atop reads), and attach each server's accounting record to its death; refused, with nothing started, when atopacctd or another accounting runs")
	fs.Var(&a.dir, "acct-dir", "with --acct: the directory of pacct_source and pacct_shadow.d, owned by root and writable by root only (atop's default /run)")
}

func (a *acctFlags) check() error {
	if a.dir.set && !a.on {
		return errors.New("--acct-dir needs --acct")
	}
	return nil
}

// acctConfig is the acct task's configuration, or nil without --acct.
func acctConfig(a *acctFlags) *respawn.AcctConfig {
	if !a.on {
		return nil
	}
	cfg := &respawn.AcctConfig{Config: acct.Config{Dir: a.dir.path}}
	if d, err := time.ParseDuration(os.Getenv(acctGCEnv)); err == nil && d > 0 {
		cfg.GCInterval = d
	}
	if d, err := time.ParseDuration(os.Getenv(acctNoRecordEnv)); err == nil && d > 0 {
		cfg.NoRecord = d
	}
	return cfg
}

// acctStartable makes acct.Check's refusals at a first start, before
// anything runs: atopacctd or another accounting running, an unsafe or
// full directory. A new image of a live upgrade takes the old one's
// accounting over instead.
func acctStartable(o *options) error {
	if !o.acct.on || o.reExec {
		return nil
	}
	return acct.Check(acctConfig(&o.acct).Config)
}
