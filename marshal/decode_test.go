package marshal

import (
	"bytes"
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// raw builds msgpack bytes by hand, lying headers included.
type raw struct{ bytes.Buffer }

func (r *raw) enc() *msgpack.Encoder { return msgpack.NewEncoder(&r.Buffer) }
func (r *raw) mapLen(n int) *raw     { r.enc().EncodeMapLen(n); return r }
func (r *raw) arrayLen(n int) *raw   { r.enc().EncodeArrayLen(n); return r }
func (r *raw) str(s string) *raw     { r.enc().EncodeString(s); return r }
func (r *raw) int(n int) *raw        { r.enc().EncodeInt(int64(n)); return r }
func (r *raw) put(b ...byte) *raw    { r.Write(b); return r }

// head starts a snapshot map of n entries with a readable version.
func head(n int) *raw { return new(raw).mapLen(n).str("v").int(Version) }

// allocBytes is the average number of bytes f allocates.
func allocBytes(f func()) uint64 {
	const runs = 5
	f() // warm up lazily built caches, such as msgpack's struct fields
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range runs {
		f()
	}
	runtime.ReadMemStats(&after)
	return (after.TotalAlloc - before.TotalAlloc) / runs
}

func TestDecodeRefuses(t *testing.T) {
	valid := mustEncode(t, sample(t, "mixed"))
	deep := head(2).str("x")
	for range maxDepth + 1 {
		deep.arrayLen(1)
	}
	deep.put(0xc0)
	deepMaps := head(2)
	for range maxDepth + 1 {
		deepMaps.str("x").mapLen(1)
	}
	deepMaps.str("x").put(0xc0)
	manyKeys := head(maxMapLen + 1)
	for i := range maxMapLen {
		manyKeys.str(strings.Repeat("k", i+1)).put(0xc0)
	}
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "truncated"},
		{"garbage", []byte("hello, world"), "not a map"},
		{"garbage map", []byte{0x8f, 'h', 'e', 'l', 'l', 'o'}, "truncated"},
		{"unused code", head(2).str("x").put(0xc1).Bytes(), "invalid msgpack byte 0xc1 at offset 6"},
		{"not a map", new(raw).arrayLen(1).int(Version).Bytes(), "not a map"},
		{"nil", []byte{0xc0}, "not a map"},
		{"cut short", valid[:len(valid)/2], "truncated"},
		{"trailing bytes", append(append([]byte(nil), valid...), 0xc0), "1 bytes after"},
		{"two snapshots", append(append([]byte(nil), valid...), valid...), "bytes after"},
		{"oversize", make([]byte, MaxSize+1), "over the 67108864-byte limit"},
		{"lying top-level array", []byte{0xdd, 0x7f, 0xff, 0xff, 0xff}, "not a map"},
		{"lying top-level map", []byte{0xdf, 0x7f, 0xff, 0xff, 0xff}, "truncated"},
		{"lying records", head(2).str("recs").put(0xdd, 0x7f, 0xff, 0xff, 0xff).Bytes(), "truncated"},
		{"lying argv", head(2).str("recs").arrayLen(1).mapLen(1).str("argv").put(0xdd, 0xff, 0xff, 0xff, 0xff).Bytes(), "truncated"},
		{"lying map", head(2).str("flags").put(0xdf, 0x7f, 0xff, 0xff, 0xff).Bytes(), "truncated"},
		{"lying string", head(2).str("name").put(0xdb, 0x7f, 0xff, 0xff, 0xff).Bytes(), "truncated"},
		{"lying ext", head(2).str("x").put(0xc9, 0x7f, 0xff, 0xff, 0xff, 1).Bytes(), "truncated"},
		{"array longer than input holds", head(2).str("fds").arrayLen(1000).put(make([]byte, 999)...).Bytes(), "truncated"},
		{"deep arrays", deep.Bytes(), "nested deeper"},
		{"deep maps", deepMaps.Bytes(), "nested deeper"},
		{"long array", head(2).str("recs").arrayLen(maxArrayLen + 1).put(bytes.Repeat([]byte{0xc0}, maxArrayLen+1)...).Bytes(), "array of 100001"},
		{"long string", head(2).str("x").str(strings.Repeat("s", MaxString+1)).Bytes(), "string is over"},
		{"many keys", manyKeys.Bytes(), "map of 33"},
		{"repeated key", head(3).str("recs").put(0xc0).str("recs").put(0x90).Bytes(), `"recs" repeated`},
		{"integer key", head(2).int(7).put(0xc0).Bytes(), "not a string"},
		{"long key", head(2).str(strings.Repeat("k", maxKeyLen+1)).put(0xc0).Bytes(), "not a string of at most 64"},
		{"wrong type", head(2).str("recs").str("servers").Bytes(), "marshal: msgpack"},
		{"version a string", new(raw).mapLen(1).str("v").str("1").Bytes(), "marshal: msgpack"},
		{"version under a binary key", new(raw).mapLen(1).put(0xc4, 1, 'v').int(9).Bytes(), "not a string"},
		{"version under a str16 key", new(raw).mapLen(1).put(0xda, 0, 1, 'v').int(Version).Bytes(), "not a string"},
		{"bad record", head(2).str("recs").arrayLen(1).mapLen(1).str("i").int(2).Bytes(), "index 2 at position 1"},
		{"bad state", head(2).str("recs").arrayLen(1).mapLen(3).str("i").int(1).str("name").str("x").str("state").int(9).Bytes(), "state 9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Decode(tt.in)
			if err == nil {
				t.Fatalf("Decode succeeded: %+v", s)
			}
			if !strings.HasPrefix(err.Error(), "marshal: ") || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Decode error %q, want one containing %q", err, tt.want)
			}
			if errors.Is(err, errPanic) {
				t.Fatalf("the decoder panicked: %v", err)
			}
		})
	}
}

// TestDecodeHostileAllocation checks that headers declaring far more than
// the input holds cost next to nothing: msgpack/v5 would allocate from the
// declared length alone.
func TestDecodeHostileAllocation(t *testing.T) {
	const budget = 1 << 20
	tests := []struct {
		name string
		in   []byte
	}{
		{"top-level array of 2^31", []byte{0xdd, 0x7f, 0xff, 0xff, 0xff}},
		{"records of 2^32-1", head(2).str("recs").put(0xdd, 0xff, 0xff, 0xff, 0xff).Bytes()},
		{"records of 2^31 with some bytes", head(2).str("recs").put(0xdd, 0x7f, 0xff, 0xff, 0xff).put(make([]byte, 4096)...).Bytes()},
		{"argv of 2^31", head(2).str("recs").arrayLen(1).mapLen(1).str("argv").put(0xdd, 0x7f, 0xff, 0xff, 0xff).Bytes()},
		{"string of 2^31", head(2).str("recs").arrayLen(1).mapLen(1).str("name").put(0xdb, 0x7f, 0xff, 0xff, 0xff).Bytes()},
		{"records over the limit", head(2).str("recs").arrayLen(maxArrayLen + 1).put(bytes.Repeat([]byte{0x80}, maxArrayLen+1)...).Bytes()},
		{"oversize", make([]byte, MaxSize+1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := allocBytes(func() {
				if _, err := Decode(tt.in); err == nil {
					t.Fatal("Decode succeeded")
				}
			})
			if n > budget {
				t.Fatalf("Decode allocated %d bytes, want at most %d", n, budget)
			}
		})
	}
}

// TestDecodeWorstCaseAllocation decodes the costliest input the limits let
// through to msgpack: the most records, each a single byte. It must stay
// far below what the declared sizes alone would cost.
func TestDecodeWorstCaseAllocation(t *testing.T) {
	in := head(2).str("recs").arrayLen(maxArrayLen).put(bytes.Repeat([]byte{0x80}, maxArrayLen)...).Bytes()
	n := allocBytes(func() {
		if _, err := Decode(in); err == nil || !strings.Contains(err.Error(), "index 0 at position 1") {
			t.Fatalf("Decode error %v", err)
		}
	})
	if n > 64<<20 {
		t.Fatalf("Decode allocated %d bytes for a %d-byte input", n, len(in))
	}
	t.Logf("%d bytes allocated for %d input bytes", n, len(in))
}

func TestDecodeEveryPrefix(t *testing.T) {
	for _, tt := range samples {
		t.Run(tt.name, func(t *testing.T) {
			b := mustEncode(t, tt.s)
			for i := range b {
				if _, err := Decode(b[:i]); err == nil {
					t.Fatalf("Decode of the first %d of %d bytes succeeded", i, len(b))
				}
			}
		})
	}
}
