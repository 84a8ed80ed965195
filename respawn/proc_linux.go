//go:build linux

package respawn

import (
	"bytes"
	"golang.org/x/sys/unix"
	"os"
	"strconv"
)

// childrenOf lists the processes whose parent is pid, from /proc.
func childrenOf(pid int) []int {
	d, err := os.Open("/proc")
	if err != nil {
		return nil
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	var kids []int
	for _, n := range names {
		p, err := strconv.Atoi(n)
		if err != nil {
			continue
		}
		if st, err := ReadStat(p); err == nil && st.PPid == pid {
			kids = append(kids, p)
		}
	}
	return kids
}

// Stat is what respawn reads from /proc/PID/stat.
type Stat struct {
	State     byte
	PPid      int
	Pgrp      int
	StartTime uint64 // clock ticks after boot
}

// ReadStat reads /proc/PID/stat. It is called for every server at a live
// upgrade, so it reads into a fixed buffer with three system calls.
func ReadStat(pid int) (Stat, error) {
	var buf [1024]byte
	var pb [32]byte
	path := string(strconv.AppendInt(append(pb[:0], "/proc/"...), int64(pid), 10)) + "/stat"
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return Stat{}, &os.PathError{Op: "open", Path: path, Err: err}
	}
	n, err := unix.Read(fd, buf[:])
	unix.Close(fd)
	if err != nil {
		return Stat{}, &os.PathError{Op: "read", Path: path, Err: err}
	}
	return ParseStat(buf[:n])
}

// ParseStat parses the contents of /proc/PID/stat. The command name may
// hold spaces and parentheses, so fields are counted from the last ')'.
// It does not allocate: a live upgrade parses one per server.
func ParseStat(b []byte) (Stat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 > len(b) {
		return Stat{}, errBadStat
	}
	var st Stat
	field, rest := 3, b[i+1:]
	for field <= 22 {
		var f []byte
		if f, rest = nextField(rest); f == nil {
			return Stat{}, errBadStat
		}
		var err error
		switch field {
		case 3:
			if len(f) != 1 {
				return Stat{}, errBadStat
			}
			st.State = f[0]
		case 4:
			st.PPid, err = atoi(f)
		case 5:
			st.Pgrp, err = atoi(f)
		case 22:
			var n int
			if n, err = atoi(f); n < 0 {
				err = errBadStat
			}
			st.StartTime = uint64(n)
		}
		if err != nil {
			return Stat{}, errBadStat
		}
		field++
	}
	return st, nil
}

// nextField returns the next space-separated field of b and what follows.
func nextField(b []byte) (field, rest []byte) {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\n') {
		b = b[1:]
	}
	j := 0
	for j < len(b) && b[j] != ' ' && b[j] != '\n' {
		j++
	}
	if j == 0 {
		return nil, nil
	}
	return b[:j], b[j:]
}

// atoi parses a decimal integer that may start with '-', without
// allocating.
func atoi(b []byte) (int, error) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 18 {
		return 0, errBadStat
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, errBadStat
		}
		n = n*10 + int(c-'0')
	}
	if neg {
		n = -n
	}
	return n, nil
}

// ready is always ready to receive from: idleC returns it to switch on the
// loop's idle case.
var ready = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// idleC is the loop's idle case: ready while some server's start time is
// still to be recorded, nil (switched off) otherwise.
func (s *Supervisor) idleC() <-chan struct{} {
	if len(s.unstamped) == 0 {
		return nil
	}
	return ready
}

// recordStartTimes records the /proc start time of up to n servers, so
// that a live upgrade need not read them all at once. The small batch
// keeps the loop ready for the next event.
func (s *Supervisor) recordStartTimes(n int) {
	for ; n > 0 && len(s.unstamped) > 0; n-- {
		last := len(s.unstamped) - 1
		r := s.unstamped[last]
		s.unstamped[last] = nil
		s.unstamped = s.unstamped[:last]
		r.listed = false
		r.stampStart()
	}
}

// stampStart records the start time of r's process if r is alive and it
// is not recorded yet.
func (r *Server) stampStart() {
	if r.task != nil || r.State != Alive || r.procStart != 0 {
		return
	}
	if st, err := ReadStat(r.Pid); err == nil {
		r.procStart = st.StartTime
	}
}
