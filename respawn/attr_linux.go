//go:build linux

package respawn

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// A server's settings reach its process in three ways, each paid only by
// the servers that use it; a server without settings starts exactly as
// before (forkExec with respawn's environment):
//
//   - credentials, working directory and environment through SysProcAttr
//     and ProcAttr, applied by Go's child between fork and exec;
//   - umask and niceness, which are per-thread attributes a child copies
//     from the thread that forks it, from a fresh OS thread that takes them
//     and then dies with its goroutine (startOnFreshThread);
//   - resource limits, process-wide, with the child stopped right after
//     its exec (ptrace) and set from here before it runs (setLimits).

// applySettings fills attr for r's next start from its settings. The
// env-files are read now: a missing one fails this start.
func applySettings(r *Server, base []string, attr *syscall.ProcAttr) error {
	st := &r.Set
	attr.Dir = st.Cwd
	attr.Sys.Credential = credential(st)
	if st.hasEnv() {
		env, err := serverEnv(base, st)
		if err != nil {
			return fmt.Errorf("respawn: cannot start %s: %w", r.Argv[0], err)
		}
		attr.Env = env
	}
	return nil
}

// hasSettings reports whether st changes anything in how a process starts.
func (st *Settings) hasSettings() bool {
	return st.Cwd != "" || st.hasCredential() || st.hasEnv() || st.inChild()
}

func (st *Settings) hasCredential() bool { return st.User != "" || st.Group != "" || st.GroupsSet }

// inChild reports whether st needs more than SysProcAttr can do.
func (st *Settings) inChild() bool { return st.UmaskSet || st.NiceSet || len(st.Limits) > 0 }

// credential is setpriv's semantics: --user sets the uid and, unless
// --group or --groups say otherwise, the user's group and supplementary
// groups (its own group only, for a uid without a passwd entry); --group
// alone changes the group and keeps the supplementary groups; --groups
// alone sets them.
func credential(st *Settings) *syscall.Credential {
	if !st.hasCredential() {
		return nil
	}
	c := &syscall.Credential{Uid: uint32(os.Getuid()), Gid: uint32(os.Getgid()), Groups: st.Groups}
	if st.User != "" {
		c.Uid = st.UID
	}
	if st.User != "" || st.Group != "" {
		c.Gid = st.GID
	}
	c.NoSetGroups = st.User == "" && !st.GroupsSet
	if c.Groups == nil {
		c.Groups = []uint32{}
	}
	return c
}

// lookPath finds r's program as its process will: a relative path with a
// '/' from its working directory, a bare name in the PATH of its
// environment.
func lookPath(r *Server, env []string) (string, error) {
	file := r.Argv[0]
	switch {
	case !r.Set.hasSettings():
		return exec.LookPath(file)
	case strings.Contains(file, "/"):
		if r.Set.Cwd != "" && !filepath.IsAbs(file) {
			file = filepath.Join(r.Set.Cwd, file)
		}
		return exec.LookPath(file)
	}
	for _, dir := range filepath.SplitList(envValue(env, "PATH")) {
		if dir == "" {
			dir = "."
		}
		if !filepath.IsAbs(dir) && r.Set.Cwd != "" {
			dir = filepath.Join(r.Set.Cwd, dir)
		}
		if p, err := exec.LookPath(filepath.Join(dir, file)); err == nil {
			return p, nil
		}
	}
	return "", &exec.Error{Name: file, Err: exec.ErrNotFound}
}

// envValue is the value of the last key=... in env.
func envValue(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], key+"="); ok {
			return v
		}
	}
	return ""
}

// startWith starts path with r's settings. An error of the child (a
// setuid refused, a working directory it cannot enter) names the settings
// that may have caused it.
func startWith(r *Server, path string, attr *syscall.ProcAttr) (int, error) {
	var pid int
	var err error
	if r.Set.UmaskSet || r.Set.NiceSet || len(r.Set.Limits) > 0 && r.Set.hasCredential() {
		pid, err = startOnFreshThread(path, r.Argv, attr, &r.Set)
	} else {
		pid, err = startLimited(path, r.Argv, attr, &r.Set)
	}
	if err != nil && !transient(err) {
		err = fmt.Errorf("%w%s", err, settingsNote(&r.Set))
	}
	return pid, err
}

// settingsNote names the settings that change what a program may do.
func settingsNote(st *Settings) string {
	var n []string
	if st.User != "" {
		n = append(n, "--user="+st.User)
	}
	if st.Group != "" {
		n = append(n, "--group="+st.Group)
	}
	if st.Cwd != "" {
		n = append(n, "--cwd="+st.Cwd)
	}
	if len(n) == 0 {
		return ""
	}
	return " (with " + strings.Join(n, " ") + ")"
}

// startOnFreshThread forks from an OS thread of its own that takes the
// umask and niceness st asks for, so that the child starts with them and
// respawn keeps its own. The umask is per thread once the thread has
// unshared its filesystem attributes (CLONE_FS), and the niceness is per
// thread on Linux; fork copies both from the forking thread. The goroutine
// ends locked to the thread, and the Go runtime then ends the thread:
// nothing else ever runs with those attributes. The thread costs a clone
// of its own (see README for the figures); the alternatives were worse:
// umask set process-wide would apply to every file respawn creates
// meanwhile (a log file created world-writable), and a thread that took
// a niceness cannot take it back without privilege.
func startOnFreshThread(path string, argv []string, attr *syscall.ProcAttr, st *Settings) (int, error) {
	type result struct {
		pid int
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
		if unix.Gettid() == unix.Getpid() {
			// The main thread is never ended, only parked for good, and
			// /proc/PID shows its attributes as respawn's: keep it
			// clean, and locked here so that the next goroutine lands
			// on another thread.
			pid, err := startOnFreshThread(path, argv, attr, st)
			runtime.UnlockOSThread()
			done <- result{pid, err}
			return
		}
		if err := takeThreadAttrs(st); err != nil {
			done <- result{err: err}
			return
		}
		pid, err := startLimitedAs(path, argv, attr, st, attr.Sys.Credential)
		done <- result{pid, err}
	}()
	r := <-done
	return r.pid, r.err
}

// takeThreadAttrs gives the calling (locked, doomed) thread st's umask and
// niceness. The niceness is added to the thread's own, as nice(1) does.
func takeThreadAttrs(st *Settings) error {
	if st.UmaskSet {
		if err := unix.Unshare(unix.CLONE_FS); err != nil {
			return os.NewSyscallError("unshare", err)
		}
		unix.Umask(int(st.Umask))
	}
	if st.NiceSet {
		// getpriority returns 20 - nice, to keep clear of -1.
		prio, err := unix.Getpriority(unix.PRIO_PROCESS, 0)
		if err != nil {
			return os.NewSyscallError("getpriority", err)
		}
		nice := min(max(20-prio+st.Nice, -20), 19)
		if err := unix.Setpriority(unix.PRIO_PROCESS, unix.Gettid(), nice); err != nil {
			return os.NewSyscallError("setpriority", err)
		}
	}
	return nil
}

// startLimited is forkExec, with the child stopped after its exec to take
// st's resource limits when it has any.
func startLimited(path string, argv []string, attr *syscall.ProcAttr, st *Settings) (int, error) {
	return startLimitedAs(path, argv, attr, st, nil)
}

// startLimitedAs is startLimited from a doomed thread, which may take the
// credential cred to set the limits of a child that has it (setLimits).
func startLimitedAs(path string, argv []string, attr *syscall.ProcAttr, st *Settings, cred *syscall.Credential) (int, error) {
	if len(st.Limits) == 0 {
		return forkExec(path, argv, attr)
	}
	runtime.LockOSThread() // ptrace requests come from the tracing thread only
	defer runtime.UnlockOSThread()
	sys := *attr.Sys
	sys.Ptrace = true
	a := *attr
	a.Sys = &sys
	pid, err := forkExec(path, argv, &a)
	if errors.Is(err, syscall.EPERM) {
		err = fmt.Errorf("%w (a server with limits is traced through its exec: is respawn itself traced?)", err)
	}
	if err != nil {
		return 0, err
	}
	return pid, setLimits(pid, st.Limits, cred)
}
