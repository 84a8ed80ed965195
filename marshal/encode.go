package marshal

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/vmihailenco/msgpack/v5"
)

// Encode checks s against the limits Decode enforces and encodes it as a
// snapshot of version Version, whatever s.Version holds. It does not modify
// s. What Encode returns, Decode of this binary accepts.
func Encode(s *Snapshot) ([]byte, error) {
	if s == nil {
		return nil, errors.New("marshal: nil snapshot")
	}
	w := *s
	w.Version = Version
	if err := w.validate(); err != nil {
		return nil, err
	}
	b, err := encode(&w)
	if err != nil {
		return nil, err
	}
	if err := checkEncoded(b); err != nil {
		return nil, err
	}
	return b, nil
}

func encode(w *Snapshot) ([]byte, error) {
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	enc.UseCompactInts(true)
	if err := enc.Encode(w); err != nil {
		return nil, fmt.Errorf("marshal: %w", err)
	}
	return buf.Bytes(), nil
}

// checkEncoded refuses what Decode would refuse before decoding: the limits
// that only the encoded form shows.
func checkEncoded(b []byte) error {
	if err := checkSize(b); err != nil {
		return err
	}
	_, limit, err := scan(b)
	if err != nil {
		return err
	}
	return limit
}
