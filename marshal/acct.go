package marshal

import (
	"fmt"
	"math"
)

// Acct is the process accounting daemon's state across a live upgrade
// (respawn/acct.State): where it stopped reading the source and writing
// the shadow files, so that the next image loses and repeats no record.
type Acct struct {
	Dir        string `msgpack:"dir"`
	RecSize    int    `msgpack:"recsize"`
	SourceOff  int64  `msgpack:"srcoff"`
	Seq        uint64 `msgpack:"seq"`
	Oldest     uint64 `msgpack:"oldest"`
	ShadowRecs int64  `msgpack:"shadowrecs"`
	Busy       bool   `msgpack:"busy"`
	Skipped    uint64 `msgpack:"skipped"`
	LastRecNs  int64  `msgpack:"lastrec"`
	LastGCNs   int64  `msgpack:"lastgc"`
	Copied     uint64 `msgpack:"copied"`
}

// Bounds of Acct: an offset or a sequence past them is forged.
const (
	MaxAcctOffset = 1 << 40
	MaxAcctSeq    = 1 << 40
	MaxAcctDir    = 4096 // PATH_MAX
)

func (a *Acct) validate() error {
	switch {
	case a == nil:
		return nil
	case a.Dir == "" || len(a.Dir) > MaxAcctDir || a.Dir[0] != '/':
		return fmt.Errorf("marshal: acct directory %q", a.Dir)
	case a.RecSize != 0 && a.RecSize != 64:
		return fmt.Errorf("marshal: acct record size %d", a.RecSize)
	case a.SourceOff < 0 || a.SourceOff > MaxAcctOffset || a.RecSize != 0 && a.SourceOff%int64(a.RecSize) != 0:
		return fmt.Errorf("marshal: acct source offset %d", a.SourceOff)
	case a.Seq > MaxAcctSeq || a.Oldest > a.Seq:
		return fmt.Errorf("marshal: acct shadow sequence %d (oldest %d)", a.Seq, a.Oldest)
	case a.ShadowRecs < 0 || a.ShadowRecs > MaxAcctOffset/64:
		return fmt.Errorf("marshal: acct shadow records %d", a.ShadowRecs)
	case a.LastRecNs < 0 || a.LastGCNs < 0:
		return fmt.Errorf("marshal: acct negative time")
	}
	return nil
}

// Death is a death's accounting record as respawn shows it
// (respawn.Accounting), carried with the exit it belongs to so that the
// status and the kept events still show it after a live upgrade.
type Death struct {
	Exit       string  `msgpack:"exit"`
	Core       bool    `msgpack:"core"`
	Signaled   bool    `msgpack:"signaled"`
	Flags      string  `msgpack:"flags"`
	UserSec    float64 `msgpack:"user"`
	SystemSec  float64 `msgpack:"system"`
	ElapsedSec float64 `msgpack:"elapsed"`
	MemKiB     uint64  `msgpack:"mem"`
	MinFlt     uint64  `msgpack:"minflt"`
	MajFlt     uint64  `msgpack:"majflt"`
	Comm       string  `msgpack:"comm"`
}

// MaxDeathText bounds each text of a Death: "signal SIGRTMIN+15", the
// four flag names joined, a 16-byte comm.
const MaxDeathText = 64

func (d *Death) validate() error {
	if d == nil {
		return nil
	}
	for _, v := range []string{d.Exit, d.Flags, d.Comm} {
		if len(v) > MaxDeathText {
			return fmt.Errorf("accounting text of %d bytes", len(v))
		}
	}
	for _, v := range []float64{d.UserSec, d.SystemSec, d.ElapsedSec} {
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("accounting time %v", v)
		}
	}
	return nil
}
