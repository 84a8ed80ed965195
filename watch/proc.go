package watch

import (
	"bytes"
	"errors"
	"strconv"
)

// Ident is what rules match: read cheaply for every EXEC.
type Ident struct {
	Pid       int
	StartTime uint64   // field 22 of /proc/PID/stat, clock ticks since boot
	Comm      string   // /proc/PID/comm
	Exe       string   // /proc/PID/exe, without " (deleted)"
	Argv      []string // /proc/PID/cmdline
	PPid      int
	Pgid      int
	Sid       int
	Zombie    bool // state Z or X: dead, not yet reaped
}

// Proc is what a restart of a watched process needs, recorded at first
// sight.
type Proc struct {
	Ident
	Cwd    string
	Env    []string
	UID    uint32 // real uid
	GID    uint32 // real gid
	Groups []uint32
	// Missing names each field that could not be read, with why
	// ("environ: permission denied"): reported, never guessed. The names
	// are exe, cmdline, cwd, environ and status; with status among them,
	// UID, GID and Groups are unset (0 for want of a value, not root).
	Missing []string
}

// Bounds of what is read from /proc for one process.
const (
	maxStatBytes   = 4 << 10   // /proc/PID/stat: about 300 bytes, comm at most 64
	maxArgBytes    = 256 << 10 // /proc/PID/cmdline
	maxEnvBytes    = 256 << 10 // /proc/PID/environ
	maxStatusBytes = 1 << 20   // /proc/PID/status: 65536 groups take about 450 KiB
	maxGroups      = 65536     // NGROUPS_MAX
)

var (
	errBadStat   = errors.New("watch: malformed /proc/PID/stat")
	errBadStatus = errors.New("watch: malformed /proc/PID/status")
)

// stat is what Ident takes from /proc/PID/stat.
type stat struct {
	pid             int
	comm            string
	state           byte
	ppid, pgrp, sid int
	flags           uint64 // the kernel's PF_* flags of the task
	start           uint64
}

// pfExiting is PF_EXITING among a task's flags: the task has begun to
// exit (set before the kernel reports its exit).
const pfExiting = 0x4

// parseStat parses /proc/PID/stat: "PID (COMM) STATE PPID PGRP SESSION
// ... STARTTIME ...". COMM is the process's own choice of up to 15 (64
// for a kernel thread) bytes, spaces and parentheses included, so it runs
// from the first '(' to the last ')', and fields are counted after it.
func parseStat(b []byte) (stat, error) {
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 2 || end < open || b[open-1] != ' ' {
		return stat{}, errBadStat
	}
	var st stat
	pid, err := strconv.Atoi(string(b[:open-1]))
	if err != nil || pid <= 0 {
		return stat{}, errBadStat
	}
	st.pid, st.comm = pid, string(b[open+1:end])
	f := bytes.Fields(b[end+1:])
	if len(f) < 20 || len(f[0]) != 1 { // f[0] is field 3, f[19] field 22
		return stat{}, errBadStat
	}
	st.state = f[0][0]
	ints := [...]*int{&st.ppid, &st.pgrp, &st.sid}
	for i, p := range ints {
		if *p, err = strconv.Atoi(string(f[1+i])); err != nil {
			return stat{}, errBadStat
		}
	}
	if st.flags, err = strconv.ParseUint(string(f[6]), 10, 64); err != nil {
		return stat{}, errBadStat
	}
	if st.start, err = strconv.ParseUint(string(f[19]), 10, 64); err != nil {
		return stat{}, errBadStat
	}
	return st, nil
}

// zombie reports whether a stat state is a dead process's: Z (zombie),
// X or x (dead).
func zombie(state byte) bool { return state == 'Z' || state == 'X' || state == 'x' }

// creds is what Proc takes from /proc/PID/status.
type creds struct {
	uid, gid       uint32
	groups         []uint32
	hasUID, hasGID bool
	hasGroups      bool
}

// parseStatus reads the real uid and gid (the first of the four ids on
// the Uid: and Gid: lines) and the supplementary groups (Groups:, which
// may be empty) from /proc/PID/status. Other lines are skipped; a line
// it reads that is malformed is an error.
func parseStatus(b []byte) (creds, error) {
	var c creds
	for len(b) > 0 {
		var line []byte
		line, b, _ = bytes.Cut(b, []byte{'\n'})
		key, val, ok := bytes.Cut(line, []byte{':'})
		if !ok {
			continue
		}
		var err error
		switch string(key) {
		case "Uid":
			c.uid, err = firstID(val)
			c.hasUID = err == nil
		case "Gid":
			c.gid, err = firstID(val)
			c.hasGID = err == nil
		case "Groups":
			c.groups, err = ids(val)
			c.hasGroups = err == nil
		}
		if err != nil {
			return creds{}, err
		}
	}
	return c, nil
}

// firstID is the first of the ids on a Uid: or Gid: line: the real one.
func firstID(val []byte) (uint32, error) {
	f := bytes.Fields(val)
	if len(f) != 4 {
		return 0, errBadStatus
	}
	return id32(f[0])
}

// ids reads the Groups: line's ids, at most maxGroups.
func ids(val []byte) ([]uint32, error) {
	f := bytes.Fields(val)
	if len(f) > maxGroups {
		return nil, errBadStatus
	}
	out := make([]uint32, 0, len(f))
	for _, s := range f {
		n, err := id32(s)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

func id32(b []byte) (uint32, error) {
	n, err := strconv.ParseUint(string(b), 10, 32)
	if err != nil {
		return 0, errBadStatus
	}
	return uint32(n), nil
}

// splitNul splits /proc/PID/cmdline or environ into its strings: each is
// ended by a NUL, and the last may not be if the process rewrote its
// arguments in place (setproctitle), or if the read was cut at its bound
// (cut: the unfinished string is dropped).
func splitNul(b []byte, cut bool) []string {
	if cut {
		i := bytes.LastIndexByte(b, 0)
		b = b[:i+1]
	}
	if len(b) == 0 {
		return nil
	}
	b = bytes.TrimSuffix(b, []byte{0})
	n := bytes.Count(b, []byte{0}) + 1
	out := make([]string, 0, n)
	for s := range bytes.SplitSeq(b, []byte{0}) {
		out = append(out, string(s))
	}
	return out
}
