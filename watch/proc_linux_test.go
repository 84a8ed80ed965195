//go:build linux

package watch

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// ReadProc reads back what a process was started with: argv (spaces,
// parentheses and an empty argument kept apart), executable, cwd,
// environment, ids, and where it sits in the process tree.
func TestIntegrationReadProcOwnChild(t *testing.T) {
	dir := t.TempDir()
	exe := copyExe(t, sh(t), dir, "a) (b c") // a comm with spaces and parentheses
	p := pause(t, exe, "argv0 is free", dir, []string{"a b", "", "(x) y)"}, "FOO=bar baz", "EMPTY=")
	argv := []string{"argv0 is free", "-c", "read x", "a b", "", "(x) y)"}
	got, err := ReadProc(p.pid())
	if err != nil {
		t.Fatal(err)
	}
	groups, _ := os.Getgroups()
	want := Proc{
		Ident: Ident{Pid: p.pid(), Comm: "a) (b c", Exe: exe, Argv: argv, PPid: os.Getpid(), Pgid: syscall.Getpgrp(), Sid: sid(t, os.Getpid())},
		Cwd:   dir, Env: []string{"FOO=bar baz", "EMPTY="},
		UID: uint32(os.Getuid()), GID: uint32(os.Getgid()), Groups: u32s(groups),
	}
	if got.StartTime == 0 {
		t.Errorf("StartTime 0")
	}
	want.StartTime = got.StartTime
	if !equalProc(got, want) {
		t.Errorf("ReadProc:\n got %+v\nwant %+v", got, want)
	}
	id, err := ReadIdent(p.pid())
	if err != nil || !equalIdent(id, want.Ident) {
		t.Errorf("ReadIdent = %+v, %v; want %+v", id, err, want.Ident)
	}
}

// Root reads everything of a process of another user, in its own
// session: its real ids and groups as setuid/setgid/setgroups left them.
func TestIntegrationReadProcOtherUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test needs root, as CI runs it")
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	exe := sh(t)
	cmd := &exec.Cmd{Path: exe, Args: []string{"sh", "-c", "read x"}, Dir: "/", Env: []string{"HOME=/nonexistent"}, Stdin: r,
		SysProcAttr: &syscall.SysProcAttr{Setsid: true, Credential: &syscall.Credential{Uid: 65534, Gid: 65533, Groups: []uint32{65532, 4}}}}
	p := start(t, cmd)
	p.stdin = w
	got, err := ReadProc(p.pid())
	if err != nil {
		t.Fatal(err)
	}
	if got.UID != 65534 || got.GID != 65533 || !slices.Equal(got.Groups, []uint32{4, 65532}) || got.Sid != p.pid() || got.Pgid != p.pid() {
		t.Errorf("ids: uid %d gid %d groups %v sid %d pgid %d; want 65534 65533 [4 65532] and %d", got.UID, got.GID, got.Groups, got.Sid, got.Pgid, p.pid())
	}
	if got.Cwd != "/" || got.Exe != exe || !slices.Contains(got.Env, "HOME=/nonexistent") || len(got.Missing) > 0 {
		t.Errorf("cwd %q exe %q env %q missing %q", got.Cwd, got.Exe, got.Env, got.Missing)
	}
}

// A user who may not look into a process gets what /proc shows anyone
// (its command line, ids) and, for the rest, the reason, never a guess.
func TestIntegrationReadProcDenied(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test needs root, as CI runs it")
	}
	target := pause(t, sh(t), "sh", "/", []string{"secret-free"}, "SECRET=1")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	exe = copyExe(t, exe, publicDir(t), "watch.test") // its own directory is private
	var out, errb bytes.Buffer
	reader := &exec.Cmd{Path: exe, Args: []string{"watch.test", "-test.run=^TestHelperReadProc$"}, Env: []string{"WATCH_TEST_READPROC=" + strconv.Itoa(target.pid())},
		Stdout: &out, Stderr: &errb, SysProcAttr: &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}}
	if err := reader.Run(); err != nil {
		t.Fatalf("readproc as 65534: %v: %s", err, errb.String())
	}
	var got Proc
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	wantMissing := []string{"exe: permission denied", "cwd: permission denied", "environ: permission denied"}
	if !slices.Equal(got.Missing, wantMissing) || got.Exe != "" || got.Cwd != "" || got.Env != nil {
		t.Errorf("missing %q exe %q cwd %q env %q; want %q and nothing else", got.Missing, got.Exe, got.Cwd, got.Env, wantMissing)
	}
	if !slices.Equal(got.Argv, []string{"sh", "-c", "read x", "secret-free"}) || got.UID != 0 || got.Comm != filepath.Base(sh(t)) {
		t.Errorf("argv %q uid %d comm %q: what anyone may read was not read", got.Argv, got.UID, got.Comm)
	}
}

// A zombie is flagged and matched by no rule; once reaped, it is gone:
// an error.
func TestIntegrationReadIdentZombieAndGone(t *testing.T) {
	p := pause(t, sh(t), "sh", "/", nil)
	pid := p.pid()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitZombie(t, pid)
	id, err := ReadIdent(pid)
	if err != nil || !id.Zombie || id.Exe != "" || id.Argv != nil {
		t.Errorf("zombie: %+v, %v; want Zombie, no exe, no argv", id, err)
	}
	r, _ := NewRule(RulePid, strconv.Itoa(pid), ActionDefault)
	if r.Match(&id) {
		t.Errorf("a rule matched a zombie")
	}
	p.end()
	if id, err := ReadIdent(pid); err == nil {
		t.Errorf("ReadIdent of a reaped pid: %+v, no error", id)
	}
	if _, err := ReadProc(pid); err == nil {
		t.Errorf("ReadProc of a reaped pid: no error")
	}
}

// A running program whose file was removed shows its path, without the
// kernel's " (deleted)".
func TestIntegrationReadIdentDeletedExe(t *testing.T) {
	dir := t.TempDir()
	exe := copyExe(t, sh(t), dir, "gone")
	p := pause(t, exe, "gone", "/", nil)
	if err := os.Remove(exe); err != nil {
		t.Fatal(err)
	}
	if l, _ := os.Readlink("/proc/" + strconv.Itoa(p.pid()) + "/exe"); !strings.HasSuffix(l, " (deleted)") {
		t.Fatalf("the kernel shows %q: the test proves nothing", l)
	}
	id, err := ReadIdent(p.pid())
	if err != nil || id.Exe != exe {
		t.Errorf("Exe %q, %v; want %q", id.Exe, err, exe)
	}
}

// A command line over the bound is cut between two arguments, and the
// cut is reported.
func TestIntegrationReadProcLongCmdline(t *testing.T) {
	big := strings.Repeat("x", 100<<10) // MAX_ARG_STRLEN is 128 KiB
	p := pause(t, sh(t), "sh", "/", []string{big, big, big})
	got, err := ReadProc(p.pid())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Argv, []string{"sh", "-c", "read x", big, big}) || !slices.Contains(got.Missing, "cmdline: cut: longer than its bound") {
		t.Errorf("%d args, missing %q; want the first 3 and the cut reported", len(got.Argv), got.Missing)
	}
}

// A kernel thread has neither executable nor command line, and no rule
// matches it, not even one for everything.
func TestIntegrationKernelThread(t *testing.T) {
	id, err := ReadIdent(2)
	if err != nil || id.Comm != "kthreadd" {
		t.Fatalf("pid 2: %+v, %v: not kthreadd (not the initial pid namespace?)", id, err)
	}
	if id.Exe != "" || id.Argv != nil || id.Zombie {
		t.Errorf("kthreadd: %+v; want no exe, no argv", id)
	}
	for _, s := range []string{"exe:/*", "name:kthreadd", "regex:.*", "regex:^$"} {
		r, err := ParseRule(s)
		if err != nil {
			t.Fatal(err)
		}
		if r.Match(&id) {
			t.Errorf("%s matches kthreadd", s)
		}
	}
}

// Pids lists processes, never threads: the test binary's own threads are
// not there, its pid and its child's are.
func TestIntegrationPids(t *testing.T) {
	p := pause(t, sh(t), "sh", "/", nil)
	pids, err := Pids()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(pids, os.Getpid()) || !slices.Contains(pids, p.pid()) {
		t.Errorf("Pids lacks %d or %d", os.Getpid(), p.pid())
	}
	tasks, _ := filepath.Glob("/proc/self/task/*")
	threads := 0
	for _, task := range tasks {
		tid, _ := strconv.Atoi(filepath.Base(task))
		if tid != os.Getpid() {
			threads++
			if slices.Contains(pids, tid) {
				t.Errorf("Pids lists thread %d", tid)
			}
		}
	}
	if threads == 0 {
		t.Fatalf("no thread but the main one: the test proves nothing")
	}
}

func sid(t *testing.T, pid int) int {
	t.Helper()
	s, err := unix.Getsid(pid)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func u32s(in []int) []uint32 {
	out := []uint32{}
	for _, g := range in {
		out = append(out, uint32(g))
	}
	slices.Sort(out)
	return out
}

func equalIdent(a, b Ident) bool {
	return a.Pid == b.Pid && a.StartTime == b.StartTime && a.Comm == b.Comm && a.Exe == b.Exe &&
		slices.Equal(a.Argv, b.Argv) && a.PPid == b.PPid && a.Pgid == b.Pgid && a.Sid == b.Sid && a.Zombie == b.Zombie
}

func equalProc(a, b Proc) bool {
	return equalIdent(a.Ident, b.Ident) && a.Cwd == b.Cwd && slices.Equal(a.Env, b.Env) && a.UID == b.UID &&
		a.GID == b.GID && slices.Equal(a.Groups, b.Groups) && slices.Equal(a.Missing, b.Missing)
}

// A process caught in execve, between the new image and its arguments,
// shows its new executable and no command line: ReadProc says so rather
// than record an empty one. The window is short: processes are started
// until one is caught, for a few seconds.
func TestIntegrationReadProcMidExec(t *testing.T) {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		cmd := &exec.Cmd{Path: "/bin/sh", Args: []string{"sh", "-c", "sleep 100"}}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		p, err := ReadProc(cmd.Process.Pid)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if err != nil || len(p.Argv) > 0 {
			continue
		}
		if p.Exe == "" || !slices.Contains(p.Missing, errMidExec) {
			t.Fatalf("no command line: exe %q, missing %q; want the exe and %q", p.Exe, p.Missing, errMidExec)
		}
		return
	}
	t.Fatal("no process caught in execve in 5s: the kernel lays out the arguments before it wakes the parent now?")
}

// A status that does not give all three of uid, gid and groups sets none
// of them and says so: a restart must not take a missing uid for root.
// (/proc always has them; the file here is written by the test.)
func TestReadCredsIncomplete(t *testing.T) {
	tests := []struct{ name, status, want string }{
		{"no Gid line", "Uid:\t1000\t1000\t1000\t1000\nGroups:\t1000\n", "status: no Uid, Gid or Groups line"},
		{"malformed Uid", "Uid:\tx\nGid:\t1\t1\t1\t1\nGroups:\n", "status: malformed /proc/PID/status"},
		{"missing file", "", "status: no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.status != "" {
				if err := os.WriteFile(filepath.Join(dir, "status"), []byte(tt.status), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			var p Proc
			p.readCreds(dir)
			if p.UID != 0 || p.GID != 0 || p.Groups != nil || !slices.Equal(p.Missing, []string{tt.want}) {
				t.Errorf("uid %d gid %d groups %v missing %q; want none and %q", p.UID, p.GID, p.Groups, p.Missing, tt.want)
			}
		})
	}
}
