package acct

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// Size is the size in bytes of one record of either version.
const Size = 64

// AHZ is the tick rate of the times in a record: the kernel converts every
// time to AHZ ticks per second (100 on every architecture Linux has for
// version 3; version 2 stores its rate in the record).
const AHZ = 100

// versionMask keeps the version number of ac_version; byteOrderBit is
// ACCT_BYTEORDER, set by a big-endian kernel.
const (
	versionMask  = 0x7f
	byteOrderBit = 0x80
)

// ErrShort is returned by Parse when fewer than Size bytes are given.
var ErrShort = errors.New("acct: short record")

// ErrVersion is wrapped by Parse's error for a record of a version it does
// not know; the message names the version.
var ErrVersion = errors.New("acct: unknown record version")

// Flags is ac_flag: what the process did, one bit each.
type Flags uint8

// The bits of Flags, as linux/acct.h names them.
const (
	AFORK   Flags = 0x01 // forked but did not exec
	ASU     Flags = 0x02 // used a capability (PF_SUPERPRIV), as a child does to setuid
	ACOMPAT Flags = 0x04 // never set by Linux
	ACORE   Flags = 0x08 // began a core dump: also with a core limit of 0
	AXSIG   Flags = 0x10 // was killed by a signal
	AGROUP  Flags = 0x20 // was the last task of its thread group
)

// Fork reports AFORK: the process forked and did not exec.
func (f Flags) Fork() bool { return f&AFORK != 0 }

// SuperUser reports ASU: the process used super-user privileges.
func (f Flags) SuperUser() bool { return f&ASU != 0 }

// Core reports ACORE: the process was killed by a core-dumping signal.
// Whether a core was written is ExitCode's 0x80 bit (WaitStatus().CoreDump()).
func (f Flags) Core() bool { return f&ACORE != 0 }

// Signaled reports AXSIG: the process was killed by a signal.
func (f Flags) Signaled() bool { return f&AXSIG != 0 }

// Group reports AGROUP: the task was the last one of its thread group.
func (f Flags) Group() bool { return f&AGROUP != 0 }

// Record is one decoded accounting record. Times are durations decoded from
// AHZ ticks; fields a version does not have are zero.
type Record struct {
	Version   int  // 3 or 2
	BigEndian bool // the record was written by a big-endian kernel
	Flags     Flags
	// ExitCode is the value the process passed to the kernel's do_exit,
	// laid out like a wait status: an exit with status n holds n<<8, a
	// death by signal s holds s, with 0x80 added when a core was written
	// (6.18: exit 3 is 0x300, SIGKILL 9, SIGSEGV with a core 0x8b and 11
	// with a core limit of 0). WaitStatus interprets it.
	ExitCode uint32
	TTY      uint16
	UID, GID uint32
	Pid      uint32 // version 3 only, in the pid namespace of the accounting
	PPid     uint32 // version 3 only
	Btime    time.Time
	Etime    time.Duration // elapsed time since the process began
	Utime    time.Duration // user CPU time
	Stime    time.Duration // system CPU time
	Mem      uint64        // average memory usage, KiB
	IO       uint64        // characters transferred (Linux writes 0)
	RW       uint64        // blocks read or written (Linux writes 0)
	Minflt   uint64        // minor page faults
	Majflt   uint64        // major page faults
	Swaps    uint64        // swaps (Linux writes 0)
	Comm     string        // command name, at most 15 (v3) or 16 (v2) bytes
}

// Parse decodes one record from the front of b and returns it with its size
// in bytes. It returns ErrShort when b holds less than a record and an error
// wrapping ErrVersion for an unknown version.
func Parse(b []byte) (Record, int, error) {
	if len(b) < 2 {
		return Record{}, 0, ErrShort
	}
	version := int(b[1] & versionMask)
	if version != 2 && version != 3 {
		return Record{}, 0, fmt.Errorf("%w %d", ErrVersion, version)
	}
	if len(b) < Size {
		return Record{}, 0, ErrShort
	}
	var order binary.ByteOrder = binary.LittleEndian
	if b[1]&byteOrderBit != 0 {
		order = binary.BigEndian
	}
	if version == 3 {
		return parseV3(b[:Size], order), Size, nil
	}
	return parseV2(b[:Size], order), Size, nil
}

// ParseAll appends to dst every whole record at the front of b and returns
// the bytes left after them: a partial record at the end is rest, not an
// error. It stops at the first record it cannot decode and returns the
// records before it, the bytes from it on and the error.
func ParseAll(dst []Record, b []byte) (recs []Record, rest []byte, err error) {
	for len(b) >= Size {
		r, n, err := Parse(b)
		if err != nil {
			return dst, b, err
		}
		dst = append(dst, r)
		b = b[n:]
	}
	return dst, b, nil
}

// parseV3 decodes struct acct_v3; b holds exactly Size bytes.
func parseV3(b []byte, o binary.ByteOrder) Record {
	return Record{
		Version:   3,
		BigEndian: o == binary.BigEndian,
		Flags:     Flags(b[0]),
		TTY:       o.Uint16(b[2:]),
		ExitCode:  o.Uint32(b[4:]),
		UID:       o.Uint32(b[8:]),
		GID:       o.Uint32(b[12:]),
		Pid:       o.Uint32(b[16:]),
		PPid:      o.Uint32(b[20:]),
		Btime:     time.Unix(int64(o.Uint32(b[24:])), 0),
		Etime:     floatTicks(math.Float32frombits(o.Uint32(b[28:]))),
		Utime:     ticks(Comp(o.Uint16(b[32:])), AHZ),
		Stime:     ticks(Comp(o.Uint16(b[34:])), AHZ),
		Mem:       Comp(o.Uint16(b[36:])),
		IO:        Comp(o.Uint16(b[38:])),
		RW:        Comp(o.Uint16(b[40:])),
		Minflt:    Comp(o.Uint16(b[42:])),
		Majflt:    Comp(o.Uint16(b[44:])),
		Swaps:     Comp(o.Uint16(b[46:])),
		Comm:      cstring(b[48:64]),
	}
}

// parseV2 decodes struct acct with ac_version 2; b holds exactly Size bytes.
// Its times are in ac_ahz ticks; a zero rate is taken as AHZ.
func parseV2(b []byte, o binary.ByteOrder) Record {
	hz := uint64(o.Uint16(b[30:]))
	if hz == 0 {
		hz = AHZ
	}
	etime := uint32(b[53])<<16 | uint32(o.Uint16(b[54:]))
	return Record{
		Version:   2,
		BigEndian: o == binary.BigEndian,
		Flags:     Flags(b[0]),
		TTY:       o.Uint16(b[6:]),
		Btime:     time.Unix(int64(o.Uint32(b[8:])), 0),
		Utime:     ticks(Comp(o.Uint16(b[12:])), hz),
		Stime:     ticks(Comp(o.Uint16(b[14:])), hz),
		Etime:     ticks(Comp2(etime), hz),
		Mem:       Comp(o.Uint16(b[18:])),
		IO:        Comp(o.Uint16(b[20:])),
		RW:        Comp(o.Uint16(b[22:])),
		Minflt:    Comp(o.Uint16(b[24:])),
		Majflt:    Comp(o.Uint16(b[26:])),
		Swaps:     Comp(o.Uint16(b[28:])),
		ExitCode:  o.Uint32(b[32:]),
		Comm:      cstring(b[36:53]),
		UID:       o.Uint32(b[56:]),
		GID:       o.Uint32(b[60:]),
	}
}

// cstring returns b up to its first NUL byte.
func cstring(b []byte) string {
	s := string(b)
	if i := strings.IndexByte(s, 0); i >= 0 {
		return s[:i]
	}
	return s
}
