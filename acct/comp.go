package acct

import (
	"math"
	"syscall"
	"time"
)

// Comp decodes a comp_t: a 13-bit mantissa in the low bits and a base-8
// exponent in the top 3, value = mantissa << (3*exponent). The largest
// value, 0xffff, is 8191<<21.
func Comp(c uint16) uint64 {
	return uint64(c&0x1fff) << (3 * uint(c>>13))
}

// Comp2 decodes a comp2_t, version 2's elapsed time: 24 bits with a 5-bit
// base-2 exponent over a 20-bit mantissa whose leading 1 is not stored (an
// exponent of 0 stores the value itself in the low 19 bits).
func Comp2(c uint32) uint64 {
	mant := uint64(c & 0x7ffff)
	exp := uint(c>>19) & 0x1f
	if exp == 0 {
		return mant
	}
	return (mant | 1<<19) << (exp - 1)
}

// ticks converts n ticks at hz per second to a duration, saturating at the
// largest duration.
func ticks(n, hz uint64) time.Duration {
	sec, rem := n/hz, n%hz
	if sec > uint64(math.MaxInt64/int64(time.Second))-1 {
		return math.MaxInt64
	}
	return time.Duration(sec)*time.Second + time.Duration(rem*uint64(time.Second)/hz)
}

// floatTicks converts version 3's float count of AHZ ticks to a duration;
// a negative or NaN count is 0 and a huge one saturates.
func floatTicks(f float32) time.Duration {
	d := float64(f) / AHZ * float64(time.Second)
	switch {
	case !(d > 0):
		return 0
	case d >= math.MaxInt64:
		return math.MaxInt64
	}
	return time.Duration(d)
}

// WaitStatus returns ExitCode as a wait status, whose methods say whether
// the process exited (and with what status) or was killed by a signal.
func (r *Record) WaitStatus() syscall.WaitStatus {
	return syscall.WaitStatus(r.ExitCode)
}
