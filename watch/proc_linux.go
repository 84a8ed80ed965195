//go:build linux

package watch

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// ReadIdent reads pid's identity. An error means the process is gone (or
// /proc cannot be read at all); a field it could not read is left empty.
func ReadIdent(pid int) (Ident, error) {
	id, _, err := readIdent(pid)
	return id, err
}

// ReadProc reads everything a restart needs. An error means the process is
// gone. /proc/PID/stat is read first and last: a process whose start time
// changed meanwhile is another one under a reused pid, and the first is
// gone.
func ReadProc(pid int) (Proc, error) {
	id, missing, err := readIdent(pid)
	if err != nil {
		return Proc{}, err
	}
	p := Proc{Ident: id, Missing: missing}
	dir := procDir(pid)
	if p.Cwd, err = os.Readlink(dir + "/cwd"); err != nil {
		p.miss("cwd", err, false)
	}
	b, cut, err := readBounded(dir+"/environ", maxEnvBytes)
	p.Env = splitNul(b, cut)
	p.miss("environ", err, cut)
	p.readCreds(dir)
	if st, err := readStat(pid); err != nil || st.start != id.StartTime {
		return Proc{}, fmt.Errorf("watch: pid %d is gone: it ended while read", pid)
	}
	return p, nil
}

// readCreds reads the real uid and gid and the groups into p. If
// /proc/PID/status cannot be read, or lacks one of them, Missing says
// "status: ..." and none of the three is set.
func (p *Proc) readCreds(dir string) {
	b, cut, err := readBounded(dir+"/status", maxStatusBytes)
	if err == nil && cut {
		err = fmt.Errorf("over %d bytes", maxStatusBytes)
	}
	var c creds
	if err == nil {
		c, err = parseStatus(b)
	}
	if err == nil && (!c.hasUID || !c.hasGID || !c.hasGroups) {
		err = errors.New("no Uid, Gid or Groups line")
	}
	if err != nil {
		p.miss("status", err, false)
		return
	}
	p.UID, p.GID, p.Groups = c.uid, c.gid, c.groups
}

// miss records that field could not be read whole: err says why, or cut
// that it was longer than its bound.
func (p *Proc) miss(field string, err error, cut bool) {
	switch {
	case err != nil:
		p.Missing = append(p.Missing, field+": "+why(err))
	case cut:
		p.Missing = append(p.Missing, field+": cut: longer than its bound")
	}
}

// errMidExec is why a process that has an executable shows no command
// line: it is in execve, which installs the new image (its exe and comm)
// before it lays out the arguments and the environment; the connector's
// EXEC event comes once it has.
const errMidExec = "cmdline: empty: in execve, not laid out yet"

// errTitle is why a command line is not the process's arguments: the
// process wrote a title over them (setproctitle: "nginx: master process
// ..."), which is what the kernel then shows.
const errTitle = "cmdline: rewritten by the process: a title, not its arguments"

// titled reports whether a command line read whole (b, split as argv) is
// a title a process wrote over its arguments: one that ran past their end
// has no NUL at its end; one written in place (nginx, postgres, sshd)
// is a first string with a space in it, then the NULs that blanked the
// other arguments. (argv[0] alone is free: "argv0 is free" with its
// arguments after it is no title.)
func titled(b []byte, argv []string) bool {
	if b[len(b)-1] != 0 {
		return true
	}
	if len(argv) < 2 || !strings.ContainsRune(argv[0], ' ') {
		return false
	}
	for _, a := range argv[1:] {
		if a != "" {
			return false
		}
	}
	return true
}

// readIdent reads pid's identity and names the fields it could not read.
func readIdent(pid int) (Ident, []string, error) {
	st, err := readStat(pid)
	if err != nil {
		return Ident{}, nil, err
	}
	id := Ident{Pid: pid, StartTime: st.start, Comm: st.comm, PPid: st.ppid, Pgid: st.pgrp, Sid: st.sid, Zombie: zombie(st.state)}
	var missing []string
	dir := procDir(pid)
	exe, err := os.Readlink(dir + "/exe")
	if err != nil {
		missing = append(missing, "exe: "+why(err))
	}
	id.Exe = strings.TrimSuffix(exe, " (deleted)")
	b, cut, err := readBounded(dir+"/cmdline", maxArgBytes)
	id.Argv = splitNul(b, cut)
	switch {
	case err != nil:
		missing = append(missing, "cmdline: "+why(err))
	case cut:
		missing = append(missing, "cmdline: cut: longer than its bound")
	case len(b) == 0 && id.Exe != "" && !id.Zombie:
		missing = append(missing, errMidExec)
	case len(b) > 0 && titled(b, id.Argv):
		missing = append(missing, errTitle)
	}
	return id, missing, nil
}

// maxThreadsRead bounds the directory entries of /proc/PID/task read at
// a time by Ended.
const maxThreadsRead = 256

// Ended reports whether the process pid that started at start (in clock
// ticks, as Ident.StartTime) has ended, or is ending: its leader has
// exited (or is exiting, or is gone, its pid another process's) and no
// other thread of it runs. A leader may end alone (pthread_exit in main): the process runs
// on in its other threads, and ends with the last of them. A thread that
// has begun to exit (PF_EXITING, which the kernel sets before it reports
// the exit) no longer runs. The leader's own task is looked at again:
// a thread that execs takes the leader's pid as the leader ends, so its
// old thread id is gone by then and the pid's task is it.
func Ended(pid int, start uint64) bool {
	st, err := readStat(pid)
	if err != nil || st.start != start {
		return true
	}
	if !zombie(st.state) && st.flags&pfExiting == 0 {
		return false
	}
	d, err := os.Open(procDir(pid) + "/task")
	if err != nil {
		return true
	}
	defer d.Close()
	for {
		names, err := d.Readdirnames(maxThreadsRead)
		for _, n := range names {
			if tid, _ := strconv.Atoi(n); tid > 0 && runs(pid, tid) {
				return false
			}
		}
		if err != nil {
			return !runs(pid, pid) // a thread that took the pid since
		}
	}
}

// runs reports whether thread tid of pid runs: not dead, not exiting.
func runs(pid, tid int) bool {
	b, _, err := readBounded(procDir(pid)+"/task/"+strconv.Itoa(tid)+"/stat", maxStatBytes)
	if err != nil {
		return false
	}
	st, err := parseStat(b)
	return err == nil && st.pid == tid && !zombie(st.state) && st.flags&pfExiting == 0
}

// readStat reads and parses /proc/PID/stat. Its comm is the one
// /proc/PID/comm shows (the task's comm, the same bytes), one read fewer.
func readStat(pid int) (stat, error) {
	if pid <= 0 {
		return stat{}, fmt.Errorf("watch: pid %d: not a process id", pid)
	}
	b, _, err := readBounded(procDir(pid)+"/stat", maxStatBytes)
	if err != nil {
		return stat{}, fmt.Errorf("watch: pid %d: %w", pid, err)
	}
	st, err := parseStat(b)
	if err == nil && st.pid != pid {
		err = errBadStat
	}
	return st, err
}

// readBounded reads the file at path, at most max bytes: cut says that
// there was more.
func readBounded(path string, max int) (b []byte, cut bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	b, err = io.ReadAll(io.LimitReader(f, int64(max)+1))
	if err != nil {
		return nil, false, err
	}
	if len(b) > max {
		return b[:max], true, nil
	}
	return b, false, nil
}

// Pids lists the processes (thread-group leaders) in /proc.
func Pids() ([]int, error) {
	d, err := os.Open("/proc")
	if err != nil {
		return nil, fmt.Errorf("watch: %w", err)
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("watch: %w", err)
	}
	pids := make([]int, 0, len(names))
	for _, n := range names {
		if p, err := strconv.Atoi(n); err == nil && p > 0 {
			pids = append(pids, p)
		}
	}
	return pids, nil
}

func procDir(pid int) string { return "/proc/" + strconv.Itoa(pid) }

// why is the reason a read failed, in words: the errno's text
// ("permission denied") without the path, which the field names.
func why(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	return strings.TrimPrefix(err.Error(), "watch: ")
}
