package marshal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
)

// The limits of the raw walk. They hold for any snapshot this schema can
// produce, with room to grow: every msgpack map is a struct with short
// string keys, and the nesting is four deep.
const (
	maxDepth    = 16
	maxMapLen   = 32 // fields in one struct
	maxKeyLen   = 64 // bytes in one field name
	maxArrayLen = MaxRecords
	maxElements = 1 << 21 // array elements in the whole snapshot
)

// errTruncated reports input that ends inside a value, or a header that
// declares more than the rest of the input can hold.
var errTruncated = errors.New("marshal: snapshot is truncated")

// scanner walks msgpack bytes without decoding them, so that a lying header
// is refused before msgpack/v5 trusts it: v5.4.1 sizes a slice from the
// declared length alone (upstream issue 401).
//
// A malformed structure stops the walk at once. A breach of a size limit
// that the structure itself does not need is kept in limit and the walk
// goes on, so that Decode can still read the version and report a newer
// snapshot as a *VersionError rather than as too big.
type scanner struct {
	b       []byte
	off     int
	elems   int    // array elements seen
	limit   error  // the first size limit breached
	version []byte // the encoded value of the top map's "v" key, if any
	seed    maphash.Seed
}

// scan walks b, which must hold exactly one msgpack map: every version of
// the snapshot is one. It returns the first structural error in err, or
// else the first breached limit in limit, and the encoded value of the
// map's version key (the last one, as msgpack reads it), nil if absent.
func scan(b []byte) (version []byte, limit, err error) {
	if len(b) > 0 && !isMap(b[0]) {
		return nil, nil, errors.New("marshal: snapshot is not a map")
	}
	s := scanner{b: b, seed: maphash.MakeSeed()}
	if err := s.value(0); err != nil {
		return nil, nil, err
	}
	if s.off != len(b) {
		return nil, nil, fmt.Errorf("marshal: %d bytes after the snapshot", len(b)-s.off)
	}
	return s.version, s.limit, nil
}

func isMap(c byte) bool { return c&0xf0 == 0x80 || c == 0xde || c == 0xdf }

func (s *scanner) breach(format string, a ...any) {
	if s.limit == nil {
		s.limit = fmt.Errorf(format, a...)
	}
}

func (s *scanner) remaining() int { return len(s.b) - s.off }

// value walks one value of any type.
func (s *scanner) value(depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("marshal: snapshot nested deeper than %d", maxDepth)
	}
	c, err := s.byte()
	if err != nil {
		return err
	}
	switch {
	case c <= 0x7f || c >= 0xe0: // positive and negative fixint
		return nil
	case c <= 0x8f:
		return s.mapBody(int(c&0x0f), depth)
	case c <= 0x9f:
		return s.arrayBody(int(c&0x0f), depth)
	case c <= 0xbf:
		return s.payload(int(c&0x1f), 0)
	}
	return s.coded(c, depth)
}

// coded walks a value whose first byte is 0xc0 to 0xdf.
func (s *scanner) coded(c byte, depth int) error {
	switch c {
	case 0xc0, 0xc2, 0xc3: // nil, false, true
		return nil
	case 0xc4, 0xc5, 0xc6: // bin 8/16/32
		return s.sized(1<<(c-0xc4), 0)
	case 0xd9, 0xda, 0xdb: // str 8/16/32
		return s.sized(1<<(c-0xd9), 0)
	case 0xc7, 0xc8, 0xc9: // ext 8/16/32: length, then type
		return s.sized(1<<(c-0xc7), 1)
	case 0xca, 0xce, 0xd2: // float32, uint32, int32
		return s.skip(4)
	case 0xcb, 0xcf, 0xd3: // float64, uint64, int64
		return s.skip(8)
	case 0xcc, 0xd0: // uint8, int8
		return s.skip(1)
	case 0xcd, 0xd1: // uint16, int16
		return s.skip(2)
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8: // fixext 1/2/4/8/16, after a type byte
		return s.skip(1 + 1<<(c-0xd4))
	case 0xdc, 0xdd: // array 16/32
		return s.counted(1<<(c-0xdb), depth, s.arrayBody)
	case 0xde, 0xdf: // map 16/32
		return s.counted(1<<(c-0xdd), depth, s.mapBody)
	}
	return fmt.Errorf("marshal: invalid msgpack byte %#x at offset %d", c, s.off-1)
}

// sized walks a string, binary or extension whose length takes width bytes
// and is followed by extra bytes of header.
func (s *scanner) sized(width, extra int) error {
	n, err := s.length(width)
	if err != nil {
		return err
	}
	return s.payload(n, extra)
}

// payload skips extra header bytes and n bytes of contents.
func (s *scanner) payload(n, extra int) error {
	if n > MaxString {
		s.breach("marshal: a %d-byte string is over the %d-byte limit", n, MaxString)
	}
	return s.skip(extra + n)
}

// counted walks an array or map whose count takes width bytes.
func (s *scanner) counted(width, depth int, body func(n, depth int) error) error {
	n, err := s.length(width)
	if err != nil {
		return err
	}
	return body(n, depth)
}

func (s *scanner) arrayBody(n, depth int) error {
	if n > s.remaining() {
		return errTruncated
	}
	if n > maxArrayLen {
		s.breach("marshal: an array of %d is over the limit of %d", n, maxArrayLen)
	}
	s.elems += n
	if s.elems > maxElements {
		s.breach("marshal: more than %d array elements", maxElements)
	}
	for range n {
		if err := s.value(depth + 1); err != nil {
			return err
		}
	}
	return nil
}

// mapBody walks n key-value pairs. Keys must be distinct short strings: the
// maps of a snapshot are structs.
func (s *scanner) mapBody(n, depth int) error {
	if n > s.remaining()/2 {
		return errTruncated
	}
	if n > maxMapLen {
		s.breach("marshal: a map of %d is over the limit of %d", n, maxMapLen)
	}
	var seen keySet
	for range n {
		k, err := s.key(depth + 1)
		if err != nil {
			return err
		}
		if k != nil && !seen.add(s.seed, k) {
			s.breach("marshal: map key %q repeated", k)
		}
		start := s.off
		if err := s.value(depth + 1); err != nil {
			return err
		}
		if depth == 0 && string(k) == versionKey {
			s.version = s.b[start:s.off]
		}
	}
	return nil
}

// keySet holds the first maxMapLen keys of one map, with their hashes so
// that most comparisons are of one word.
type keySet struct {
	n    int
	hash [maxMapLen]uint64
	key  [maxMapLen][]byte
}

// add reports whether k was not in the set yet. Past maxMapLen keys, a
// breach already, it adds nothing and reports true.
func (ks *keySet) add(seed maphash.Seed, k []byte) bool {
	h := maphash.Bytes(seed, k)
	for i := range ks.n {
		if ks.hash[i] == h && bytes.Equal(ks.key[i], k) {
			return false
		}
	}
	if ks.n < maxMapLen {
		ks.hash[ks.n], ks.key[ks.n] = h, k
		ks.n++
	}
	return true
}

// key walks a map key and returns its bytes, or nil if it is not a string.
func (s *scanner) key(depth int) ([]byte, error) {
	start := s.off
	if err := s.value(depth); err != nil {
		return nil, err
	}
	k, ok := keyString(s.b[start:s.off])
	if !ok {
		s.breach("marshal: a map key at offset %d is not a string of at most %d bytes", start, maxKeyLen)
	}
	return k, nil
}

// keyString returns the contents of the encoded fixstr or str8 in v.
func keyString(v []byte) ([]byte, bool) {
	switch {
	case v[0]&0xe0 == 0xa0:
		return v[1:], true
	case v[0] == 0xd9 && len(v[2:]) <= maxKeyLen:
		return v[2:], true
	}
	return nil, false
}

func (s *scanner) byte() (byte, error) {
	if s.off >= len(s.b) {
		return 0, errTruncated
	}
	c := s.b[s.off]
	s.off++
	return c, nil
}

// length reads a big-endian count of width 1, 2 or 4 bytes.
func (s *scanner) length(width int) (int, error) {
	if width > s.remaining() {
		return 0, errTruncated
	}
	p := s.b[s.off : s.off+width]
	s.off += width
	switch width {
	case 1:
		return int(p[0]), nil
	case 2:
		return int(binary.BigEndian.Uint16(p)), nil
	}
	n := binary.BigEndian.Uint32(p)
	if uint64(n) > uint64(s.remaining()) {
		return 0, errTruncated
	}
	return int(n), nil
}

// skip steps over n bytes that must be there.
func (s *scanner) skip(n int) error {
	if n > s.remaining() {
		return errTruncated
	}
	s.off += n
	return nil
}
