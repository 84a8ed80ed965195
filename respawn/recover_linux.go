//go:build linux

package respawn

import (
	"bytes"
	"cmp"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Recover rebuilds the supervisor when the previous image's snapshot cannot
// be used: the servers from the command line, each adopted from the
// children found in /proc (matchChildren), the others started afresh. What
// the snapshot held beyond that (restart counts, burials, cremations, the
// last exits) is lost and logged. Recover must be called before Run.
func (s *Supervisor) Recover(reason error) {
	s.restored = true
	s.generation, s.lastUpgrade, s.started = 1, realtimeNs(), realtimeNs()
	var servers []*Server
	var progs []program
	for _, r := range s.recs {
		if r.task == nil {
			servers = append(servers, r)
			progs = append(progs, programOf(r.Argv))
		}
	}
	kids := readChildren(childrenOf(os.Getpid()))
	found := matchChildren(progs, kids)
	adopted := 0
	for i, f := range found {
		if f.pid > 0 {
			s.adoptFound(servers[i], f.pid)
			s.logFound(servers[i], f)
			adopted++
		}
	}
	s.log.Error("respawn: upgrade snapshot unusable; recovered from the command line and /proc",
		"reason", reason, "adopted", adopted, "started_afresh", len(servers)-adopted,
		"lost", "restart counts, burials, cremations, last exits, generation")
	s.logUnclaimed(kids, found)
}

// logFound logs a server adopted by its executable rather than by its
// command line, and whether it could be told apart from others.
func (s *Supervisor) logFound(r *Server, f found) {
	if !f.byExe {
		return
	}
	args := []any{"server", r.Index, "name", r.Name, "pid", f.pid, "cmd", procCmdline(f.pid)}
	if f.among > 1 {
		s.log.Warn("respawn: server adopted by its executable, the earliest started of several children that run it",
			append(args, "candidates", f.among)...)
		return
	}
	s.log.Info("respawn: server adopted by its executable: its command line has changed", args...)
}

func (s *Supervisor) logUnclaimed(kids []child, found []found) {
	claimed := map[int]bool{}
	for _, f := range found {
		claimed[f.pid] = true
	}
	for _, k := range kids {
		if !claimed[k.pid] {
			s.log.Warn("respawn: child matches no server; it will be reaped when it exits", "pid", k.pid, "cmd", Quote(k.argv))
		}
	}
}

// adoptFound makes r ALIVE as the running process pid.
func (s *Supervisor) adoptFound(r *Server, pid int) {
	st, _ := ReadStat(pid)
	r.State, r.Pid, r.Pgid, r.Started = Alive, pid, st.Pgrp, true
	r.procStart = st.StartTime
	r.StartNs, r.StartRT = startFromTicks(st.StartTime)
	rewriteInitialSpawn(r.Argv)
	s.byPid[pid] = r
}

// fileID is a file as the kernel knows it, whatever its name.
type fileID struct{ dev, ino uint64 }

// program is what a server's process runs, as far as the kernel keeps it:
// its command line (before and after the --initial-spawn rewrite), and
// the files its executable may be: the program found in $PATH and, for a
// script, its interpreter.
type program struct {
	argv, later []string
	// script are the command lines the kernel gives a script run as
	// argv or later: its "#!" line's interpreter and argument, the path
	// it was executed by, then its arguments.
	script [][]string
	ids    []fileID
	paths  []string
}

// shows reports whether a process whose command line is argv runs p as
// respawn started it.
func (p program) shows(argv []string) bool {
	return slices.Equal(argv, p.argv) || slices.Equal(argv, p.later) ||
		slices.ContainsFunc(p.script, func(c []string) bool { return slices.Equal(argv, c) })
}

// child is a child process found in /proc.
type child struct {
	pid    int
	argv   []string
	exe    fileID
	path   string // /proc/PID/exe's target, without " (deleted)"
	start  uint64 // /proc start time, clock ticks after boot
	leader bool   // it leads its own process group, as every server respawn starts
}

// found is the child matched to one server: pid 0 for none.
type found struct {
	pid   int
	byExe bool // matched by executable, its command line having changed
	among int  // how many unclaimed children it was chosen among
}

// matchChildren pairs servers with children, in two passes. First by
// command line, exactly, as respawn started it. Then, for a server whose
// process rewrote its argv (nginx, postgres and php-fpm do), by what the
// kernel keeps: a child that leads its own process group and runs the
// server's executable (same device and inode, or the same path if the
// file was replaced since). Among several such children the earliest
// started (then the lowest pid) goes to the server of the lowest index, as
// respawn starts servers in index order. A child is given to one server at most.
func matchChildren(progs []program, kids []child) []found {
	out := make([]found, len(progs))
	claimed := map[int]bool{}
	byStart := slices.SortedFunc(slices.Values(kids), func(a, b child) int {
		return cmp.Or(cmp.Compare(a.start, b.start), cmp.Compare(a.pid, b.pid))
	})
	for i, p := range progs {
		for _, k := range leadersFirst(byStart) {
			if !claimed[k.pid] && p.shows(k.argv) {
				claimed[k.pid], out[i] = true, found{pid: k.pid, among: 1}
				break
			}
		}
	}
	for i, p := range progs {
		if out[i].pid > 0 {
			continue
		}
		var cands []int
		for _, k := range byStart {
			if !claimed[k.pid] && k.leader && p.runs(k) {
				cands = append(cands, k.pid)
			}
		}
		if len(cands) > 0 {
			claimed[cands[0]], out[i] = true, found{pid: cands[0], byExe: true, among: len(cands)}
		}
	}
	return out
}

// leadersFirst returns kids with the leaders of their process group
// first, in order otherwise: a worker that a server forked keeps its
// command line, and one left over from an earlier process of the server
// may be our child too, but the server is the leader.
func leadersFirst(kids []child) []child {
	return slices.SortedStableFunc(slices.Values(kids), func(a, b child) int {
		switch {
		case a.leader == b.leader:
			return 0
		case a.leader:
			return -1
		}
		return 1
	})
}

// runs reports whether k runs p's executable.
func (p program) runs(k child) bool {
	return k.exe != (fileID{}) && slices.Contains(p.ids, k.exe) || k.path != "" && slices.Contains(p.paths, k.path)
}

// programOf resolves argv[0] in $PATH as spawn does, and the interpreter
// of a script.
func programOf(argv []string) program {
	p := program{argv: argv, later: slices.Clone(argv)}
	rewriteInitialSpawn(p.later)
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return p
	}
	p.add(path)
	if interp := interpreter(path); len(interp) > 0 {
		p.add(interp[0])
		for _, a := range [][]string{p.argv, p.later} {
			p.script = append(p.script, slices.Concat(interp, []string{path}, a[1:]))
		}
	}
	return p
}

// add adds the file at path, by its identity and by its path, as given
// and resolved: /proc/PID/exe names the file the kernel ran, after every
// symlink, and a server run through a symlink whose target was replaced
// since (a package upgrade) is known by that path alone.
func (p *program) add(path string) {
	if id, ok := statID(path); ok {
		p.ids = append(p.ids, id)
	}
	p.paths = append(p.paths, path)
	if real, err := filepath.EvalSymlinks(path); err == nil {
		if real, err = filepath.Abs(real); err == nil && real != path {
			p.paths = append(p.paths, real)
		}
	}
}

// interpreter is a script's "#!" line as the kernel reads it (see
// parseShebang), or nil for a file that is not a script.
func interpreter(path string) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var b [256]byte
	n, _ := f.Read(b[:])
	return parseShebang(b[:n])
}

// parseShebang reads the start of a file as the kernel reads a script's
// "#!" line: the interpreter, then the rest of the line, trimmed, as one
// argument if there is any. It is nil if b does not start with "#!" or
// names no interpreter.
func parseShebang(b []byte) []string {
	line, ok := bytes.CutPrefix(b, []byte("#!"))
	if !ok {
		return nil
	}
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	rest := strings.Trim(string(line), " \t")
	if rest == "" {
		return nil
	}
	i := strings.IndexAny(rest, " \t")
	if i < 0 {
		return []string{rest}
	}
	return []string{rest[:i], strings.Trim(rest[i:], " \t")}
}

func statID(path string) (fileID, bool) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return fileID{}, false
	}
	return fileID{dev: st.Dev, ino: st.Ino}, true
}

// readChildren reads what matchChildren needs of each pid from /proc.
func readChildren(pids []int) []child {
	kids := make([]child, 0, len(pids))
	for _, pid := range pids {
		dir := "/proc/" + strconv.Itoa(pid)
		k := child{pid: pid, argv: procArgv(pid)}
		if st, err := ReadStat(pid); err == nil {
			k.start, k.leader = st.StartTime, st.Pgrp == pid
		}
		k.exe, _ = statID(dir + "/exe")
		if target, err := os.Readlink(dir + "/exe"); err == nil {
			k.path = strings.TrimSuffix(target, " (deleted)")
		}
		kids = append(kids, k)
	}
	return kids
}

func procArgv(pid int) []string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil || len(b) == 0 {
		return nil
	}
	return bytes2strings(bytes.Split(bytes.TrimSuffix(b, []byte{0}), []byte{0}))
}

func bytes2strings(bs [][]byte) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = string(b)
	}
	return out
}

func procCmdline(pid int) string { return Quote(procArgv(pid)) }
