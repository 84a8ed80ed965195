package acct

import (
	"encoding/binary"
	"errors"
	"math"
	"testing"
	"time"
)

func TestComp(t *testing.T) {
	tests := []struct {
		name string
		c    uint16
		want uint64
	}{
		{"zero", 0, 0},
		{"small", 100, 100},
		{"largest mantissa", 0x1fff, 8191},
		{"exponent 1", 1<<13 | 1000, 8000},
		{"exponent 2", 2<<13 | 1, 64},
		{"largest", 0xffff, 8191 << 21},
	}
	for _, tt := range tests {
		if got := Comp(tt.c); got != tt.want {
			t.Errorf("%s: Comp(%#x) = %d, want %d", tt.name, tt.c, got, tt.want)
		}
	}
}

func TestComp2(t *testing.T) {
	tests := []struct {
		name string
		c    uint32
		want uint64
	}{
		{"zero", 0, 0},
		{"small", 12345, 12345},
		{"exponent 1 keeps the hidden bit", 1<<19 | 5, 1<<19 | 5},
		{"exponent 2", 2<<19 | 1, (1<<19 | 1) << 1},
		{"largest", 0xffffff, (1<<20 - 1) << 30},
	}
	for _, tt := range tests {
		if got := Comp2(tt.c); got != tt.want {
			t.Errorf("%s: Comp2(%#x) = %d, want %d", tt.name, tt.c, got, tt.want)
		}
	}
}

func TestTicks(t *testing.T) {
	tests := []struct {
		name  string
		n, hz uint64
		want  time.Duration
	}{
		{"a tick", 1, AHZ, 10 * time.Millisecond},
		{"2.5 s", 250, AHZ, 2500 * time.Millisecond},
		{"at 1024 Hz", 512, 1024, 500 * time.Millisecond},
		{"saturates", math.MaxUint64, 1, math.MaxInt64},
	}
	for _, tt := range tests {
		if got := ticks(tt.n, tt.hz); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
	if got := floatTicks(float32(math.NaN())); got != 0 {
		t.Errorf("NaN ticks: %v, want 0", got)
	}
	if got := floatTicks(1e30); got != math.MaxInt64 {
		t.Errorf("1e30 ticks: %v, want the largest duration", got)
	}
}

// v3 returns an acct_v3 record in byte order o.
func v3(o binary.ByteOrder) []byte {
	b := make([]byte, Size)
	b[0], b[1] = byte(AXSIG|ACORE), 3
	if o == binary.BigEndian {
		b[1] |= byteOrderBit
	}
	o.PutUint32(b[4:], 0x8b)
	o.PutUint32(b[8:], 1000)
	o.PutUint32(b[12:], 100)
	o.PutUint32(b[16:], 4242)
	o.PutUint32(b[20:], 1)
	o.PutUint32(b[24:], 1700000000)
	o.PutUint32(b[28:], math.Float32bits(150))
	o.PutUint16(b[32:], 1<<13|25)
	o.PutUint16(b[36:], 2048)
	copy(b[48:], "0123456789abcdef")
	return b
}

func TestParseV3(t *testing.T) {
	for _, o := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		r, n, err := Parse(v3(o))
		if err != nil || n != Size {
			t.Fatalf("%v: %d, %v", o, n, err)
		}
		want := Record{Version: 3, BigEndian: o == binary.BigEndian, Flags: AXSIG | ACORE,
			ExitCode: 0x8b, UID: 1000, GID: 100, Pid: 4242, PPid: 1,
			Btime: time.Unix(1700000000, 0), Etime: 1500 * time.Millisecond,
			Utime: 2 * time.Second, Mem: 2048, Comm: "0123456789abcdef"}
		if r != want {
			t.Errorf("%v:\n got %+v\nwant %+v", o, r, want)
		}
		if ws := r.WaitStatus(); ws.Signal() != 11 || !ws.CoreDump() {
			t.Errorf("%v: wait status %#x", o, r.ExitCode)
		}
	}
}

func TestParseV2(t *testing.T) {
	b := make([]byte, Size)
	o := binary.LittleEndian
	b[0], b[1] = byte(AFORK), 2
	o.PutUint32(b[8:], 1700000000)
	o.PutUint16(b[12:], 50)
	o.PutUint16(b[30:], 1000)
	o.PutUint32(b[32:], 3<<8)
	copy(b[36:], "comm\x00junk")
	b[53] = 1 << 3 // comp2_t exponent 1: 1<<19 | 16
	o.PutUint16(b[54:], 16)
	o.PutUint32(b[56:], 7)
	o.PutUint32(b[60:], 8)
	r, _, err := Parse(b)
	want := Record{Version: 2, Flags: AFORK, ExitCode: 3 << 8, UID: 7, GID: 8,
		Btime: time.Unix(1700000000, 0), Utime: 50 * time.Millisecond,
		Etime: ticks(1<<19|16, 1000), Comm: "comm"}
	if err != nil || r != want {
		t.Errorf("got %+v, %v\nwant %+v", r, err, want)
	}
}

func TestParseErrors(t *testing.T) {
	bad := v3(binary.LittleEndian)
	bad[1] = 1
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrShort},
		{"half a record", v3(binary.LittleEndian)[:40], ErrShort},
		{"version 1", bad, ErrVersion},
	}
	for _, tt := range tests {
		if _, n, err := Parse(tt.b); !errors.Is(err, tt.want) || n != 0 {
			t.Errorf("%s: %d, %v, want %v", tt.name, n, err, tt.want)
		}
	}
	if _, _, err := Parse(bad); err.Error() != "acct: unknown record version 1" {
		t.Errorf("error %q does not name the version", err)
	}
}

func TestParseAll(t *testing.T) {
	rec := v3(binary.LittleEndian)
	b := append(append(append([]byte{}, rec...), rec...), rec[:10]...)
	recs, rest, err := ParseAll(nil, b)
	if err != nil || len(recs) != 2 || len(rest) != 10 {
		t.Fatalf("%d records, %d left, %v; want 2, 10, nil", len(recs), len(rest), err)
	}
	bad := append(append([]byte{}, rec...), make([]byte, Size)...)
	recs, rest, err = ParseAll(recs[:0], bad)
	if !errors.Is(err, ErrVersion) || len(recs) != 1 || len(rest) != Size {
		t.Fatalf("%d records, %d left, %v; want 1, %d, ErrVersion", len(recs), len(rest), err, Size)
	}
}
