package marshal

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
)

// Digest is what a live upgrade's pre-flight check answers to prove that
// it read the snapshot it was given: "sha256:" and the hex SHA-256 of the
// snapshot's fields in a fixed layout (every field the new image restores
// from, not the encoding, which may differ between binaries that read the
// same snapshot). The old image computes it over the snapshot it encoded,
// the new one over the snapshot it decoded. The layout is part of the
// upgrade protocol: a field added later is left out of it, and a change
// to it needs a new answer of the pre-flight check.
func Digest(s *Snapshot) string {
	d := digester{h: sha256.New()}
	d.ints(int64(s.Generation), s.StartedNs, s.Flags.IntervalNs, s.Flags.StopTimeoutNs)
	d.bools(s.Flags.LeaveRunning, s.Flags.Linger)
	d.strs(s.Flags.LogFormat, s.Flags.LogLevel, s.Flags.Control)
	d.ints(int64(len(s.Records)))
	for i := range s.Records {
		d.record(&s.Records[i])
	}
	d.ints(int64(len(s.FDs)))
	for _, fd := range s.FDs {
		d.strs(fd.Role)
		d.ints(int64(fd.FD))
	}
	return "sha256:" + hex.EncodeToString(d.h.Sum(nil))
}

func (d digester) record(r *Record) {
	d.ints(int64(r.Index), int64(r.State), int64(r.Pid), int64(r.Pgid), int64(r.ProcStart), int64(r.Restarts),
		r.StartNs, r.StartRTNs, int64(len(r.Argv)))
	d.strs(r.Name)
	d.strs(r.Argv...)
	d.bools(r.Task, r.Started, r.Stopping, r.Last.Set, r.Last.Core)
	d.ints(int64(r.Last.Code), int64(r.Last.Signal), int64(r.Short), r.DueNs)
	d.strs(r.Last.Err)
}

// digester writes fields into a hash: integers as 8 bytes little-endian,
// strings as their length then their bytes, so that no two different
// snapshots write the same stream.
type digester struct{ h hash.Hash }

func (d digester) ints(vs ...int64) {
	var b [8]byte
	for _, v := range vs {
		binary.LittleEndian.PutUint64(b[:], uint64(v))
		d.h.Write(b[:])
	}
}

func (d digester) strs(vs ...string) {
	for _, v := range vs {
		d.ints(int64(len(v)))
		d.h.Write([]byte(v))
	}
}

func (d digester) bools(vs ...bool) {
	for _, v := range vs {
		var n int64
		if v {
			n = 1
		}
		d.ints(n)
	}
}
