package marshal

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/vmihailenco/msgpack/v5"
)

// VersionError reports a snapshot whose version this binary does not read.
// Callers detect it with errors.As.
type VersionError struct {
	Version int // the version the snapshot declares; 0 if it declares none
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("marshal: snapshot version %d; this binary reads versions %d to %d",
		e.Version, MinVersion, Version)
}

// errPanic marks a panic inside the msgpack decoder, turned into an error.
var errPanic = errors.New("msgpack decoder panicked")

// Decode checks and decodes a snapshot written by Encode of this or an
// older binary. It does not keep b.
//
// Decode never panics, whatever b holds, and no header can make it allocate
// more than b really contains: its worst case is the largest array of empty
// records the limits let through, about 40 MB for a 100 kB input. A
// snapshot of a version CanRead refuses yields a *VersionError; any other
// fault, an error that describes it. The snapshot returned has passed every
// range check of the package; whether its pids are still children of ours,
// with the same ProcStart, is for the caller to check.
func Decode(b []byte) (*Snapshot, error) {
	if err := checkSize(b); err != nil {
		return nil, err
	}
	if err := preflight(b); err != nil {
		return nil, err
	}
	s := new(Snapshot)
	if err := unmarshal(b, s); err != nil {
		return nil, err
	}
	if err := s.validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// checkSize refuses input too big to walk, before anything else is done.
func checkSize(b []byte) error {
	if len(b) > MaxSize {
		return fmt.Errorf("marshal: a %d-byte snapshot is over the %d-byte limit", len(b), MaxSize)
	}
	return nil
}

// preflight walks b and reads its version, so that msgpack only ever sees
// well-formed input of a version this binary reads. A snapshot of another
// version is a *VersionError even when it breaks this binary's size limits.
func preflight(b []byte) error {
	raw, limit, err := scan(b)
	if err != nil {
		return err
	}
	if raw == nil && limit != nil {
		return limit // the version key may be among the keys it refused
	}
	var version int // a snapshot without one is of version 0
	if raw != nil {
		err = unmarshal(raw, &version)
	}
	switch {
	case err == nil && !CanRead(version):
		return &VersionError{Version: version}
	case limit != nil:
		return limit
	}
	return err
}

// unmarshal decodes b into the typed value v. A panic in the decoder
// becomes an error: in the image that has just replaced the supervisor,
// possibly as pid 1, a panic would orphan every child.
func unmarshal(b []byte, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("marshal: %w: %v", errPanic, r)
		}
	}()
	if err := msgpack.NewDecoder(bytes.NewReader(b)).Decode(v); err != nil {
		return fmt.Errorf("marshal: %w", err)
	}
	return nil
}
