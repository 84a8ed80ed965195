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
	path := "/proc/" + strconv.Itoa(pid) + "/stat"
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
func ParseStat(b []byte) (Stat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 > len(b) {
		return Stat{}, errBadStat
	}
	f := bytes.Fields(b[i+1:])
	// f[0] is field 3 (state); starttime is field 22.
	if len(f) < 20 || len(f[0]) != 1 {
		return Stat{}, errBadStat
	}
	ppid, err1 := strconv.Atoi(string(f[1]))
	pgrp, err2 := strconv.Atoi(string(f[2]))
	start, err3 := strconv.ParseUint(string(f[19]), 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return Stat{}, errBadStat
	}
	return Stat{State: f[0][0], PPid: ppid, Pgrp: pgrp, StartTime: start}, nil
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
