package marshal

import (
	"bytes"
	"strings"
	"testing"
)

// in wraps one encoded value v as the only entry of a map, as scan needs.
func in(v ...byte) []byte { return append([]byte{0x81, 0xa1, 'x'}, v...) }

func TestScan(t *testing.T) {
	tests := []struct {
		name  string
		in    []byte
		err   string // "" when the walk must succeed
		limit string // "" when no limit may be breached
	}{
		{"fixints", in(0x92, 0x7f, 0xe0), "", ""},
		{"nil false true", in(0x93, 0xc0, 0xc2, 0xc3), "", ""},
		{"uint8 16 32 64", in(0x94, 0xcc, 1, 0xcd, 1, 2, 0xce, 1, 2, 3, 4, 0xcf, 1, 2, 3, 4, 5, 6, 7, 8), "", ""},
		{"int8 16 32 64", in(0x94, 0xd0, 1, 0xd1, 1, 2, 0xd2, 1, 2, 3, 4, 0xd3, 1, 2, 3, 4, 5, 6, 7, 8), "", ""},
		{"floats", in(0x92, 0xca, 1, 2, 3, 4, 0xcb, 1, 2, 3, 4, 5, 6, 7, 8), "", ""},
		{"strings", in(0x94, 0xa1, 'a', 0xd9, 1, 'a', 0xda, 0, 1, 'a', 0xdb, 0, 0, 0, 1, 'a'), "", ""},
		{"binaries", in(0x93, 0xc4, 1, 'a', 0xc5, 0, 1, 'a', 0xc6, 0, 0, 0, 1, 'a'), "", ""},
		{"fixexts", in(0x95, 0xd4, 1, 0, 0xd5, 1, 0, 0, 0xd6, 1, 0, 0, 0, 0, 0xd7, 1, 0, 0, 0, 0, 0, 0, 0, 0,
			0xd8, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), "", ""},
		{"exts", in(0x93, 0xc7, 1, 5, 'a', 0xc8, 0, 1, 5, 'a', 0xc9, 0, 0, 0, 1, 5, 'a'), "", ""},
		{"arrays 16 32", in(0x92, 0xdc, 0, 1, 0xc0, 0xdd, 0, 0, 0, 1, 0xc0), "", ""},
		{"maps 16 32", in(0x92, 0xde, 0, 1, 0xa1, 'k', 0xc0, 0xdf, 0, 0, 0, 1, 0xa1, 'k', 0xc0), "", ""},
		{"str8 key", []byte{0x81, 0xd9, 1, 'x', 0xc0}, "", ""},
		{"empty key", []byte{0x81, 0xa0, 0xc0}, "", ""},
		{"same keys in sibling maps", in(0x92, 0x81, 0xa1, 'k', 1, 0x81, 0xa1, 'k', 1), "", ""},
		{"cut in a uint32", in(0xce, 1, 2), "truncated", ""},
		{"cut in a length", in(0xda, 0), "truncated", ""},
		{"cut in a fixext", in(0xd8, 1, 0), "truncated", ""},
		{"cut in an ext header", in(0xc7, 1), "truncated", ""},
		{"cut in a key", []byte{0x81, 0xa3, 'x'}, "truncated", ""},
		{"cut before a value", []byte{0x81, 0xa1, 'x'}, "truncated", ""},
		{"str16 longer than input", in(0xda, 0xff, 0xff, 'a'), "truncated", ""},
		{"map16 longer than input", in(0xde, 0, 3, 0xa1, 'k', 0xc0), "truncated", ""},
		{"repeated key", []byte{0x82, 0xa1, 'x', 0xc0, 0xa1, 'x', 0xc0}, "", "repeated"},
		{"binary key", []byte{0x81, 0xc4, 1, 'x', 0xc0}, "", "not a string"},
		{"nil key", []byte{0x81, 0xc0, 0xc0}, "", "not a string"},
		{"repeated non-string key", []byte{0x82, 0xc0, 0xc0, 0xc0, 0xc0}, "", "not a string"},
		{"array key", []byte{0x81, 0x91, 0xc0, 0xc0}, "", "not a string"},
		{"ext longer than input", in(0xc9, 0, 0x10, 0, 1, 5), "truncated", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, limit, err := scan(tt.in)
			if !matches(err, tt.err) {
				t.Fatalf("scan error %v, want %q", err, tt.err)
			}
			if !matches(limit, tt.limit) {
				t.Fatalf("scan limit %v, want %q", limit, tt.limit)
			}
		})
	}
}

// TestScanLimitThenStructure checks that a breached limit does not hide a
// malformed structure after it.
func TestScanLimitThenStructure(t *testing.T) {
	b := []byte{0x82, 0xc0, 0xc0, 0xa1, 'x', 0xc1}
	if _, limit, err := scan(b); err == nil || limit != nil {
		t.Fatalf("scan = %v, %v; want only an error", limit, err)
	}
}

// TestScanVersion checks that the walk hands back the encoded version of
// the top map only, the last one if it is repeated, as msgpack reads it.
func TestScanVersion(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want []byte
	}{
		{"first key", []byte{0x82, 0xa1, 'v', 0x01, 0xa1, 'x', 0xc0}, []byte{0x01}},
		{"last key", []byte{0x82, 0xa1, 'x', 0xc0, 0xa1, 'v', 0xcd, 1, 2}, []byte{0xcd, 1, 2}},
		{"absent", []byte{0x81, 0xa1, 'x', 0x01}, nil},
		{"only nested", []byte{0x81, 0xa1, 'x', 0x81, 0xa1, 'v', 0x01}, nil},
		{"nested and top", []byte{0x82, 0xa1, 'x', 0x81, 0xa1, 'v', 0x07, 0xa1, 'v', 0x02}, []byte{0x02}},
		{"repeated", []byte{0x82, 0xa1, 'v', 0x01, 0xa1, 'v', 0x02}, []byte{0x02}},
		{"not an integer", []byte{0x81, 0xa1, 'v', 0xa1, '1'}, []byte{0xa1, '1'}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, _, err := scan(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(v, tt.want) {
				t.Fatalf("version % x, want % x", v, tt.want)
			}
		})
	}
}

func matches(err error, want string) bool {
	if want == "" || err == nil {
		return (want == "") == (err == nil)
	}
	return strings.HasPrefix(err.Error(), "marshal: ") && strings.Contains(err.Error(), want)
}
