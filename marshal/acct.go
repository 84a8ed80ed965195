package marshal

import "fmt"

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
