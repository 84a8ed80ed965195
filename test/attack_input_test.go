//go:build linux

package test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func init() { moreHelpers["forkworker"] = forkWorker }

// forkWorker plays a forking server whose first process dies and leaves
// a worker behind: "forkworker FILE" started for the first time (FILE is
// empty) starts a worker with the same command line in its process group,
// writes "worker PID" and "server PID" to FILE and exits 1 after 100 ms; the
// worker, now respawn's child (respawn is a subreaper), sleeps. Later
// starts write "server PID" and sleep.
func forkWorker(args []string) int {
	if os.Getenv("FORKWORKER_WORKER") != "" {
		return pause()
	}
	if len(lines(args[0])) > 0 {
		appendLine(args[0], "server "+strconv.Itoa(os.Getpid()))
		return pause()
	}
	cmd := exec.Command("/proc/self/exe", os.Args[1:]...)
	cmd.Args[0] = os.Args[0]
	cmd.Env = append(os.Environ(), "FORKWORKER_WORKER=1")
	if cmd.Start() != nil {
		return 90
	}
	appendLine(args[0], "worker "+strconv.Itoa(cmd.Process.Pid))
	appendLine(args[0], "server "+strconv.Itoa(os.Getpid()))
	time.Sleep(100 * time.Millisecond) // longer than --interval: respawned, not buried
	return 1
}

// A name given with @NAME belongs to that server even when another
// server's program has the same base name: { .../web } { @web ... } named
// the second server web-2 and let `respawnctl stop web` stop the first.
func TestGivenNameBeatsDefaultName(t *testing.T) {
	web := filepath.Join(t.TempDir(), "web")
	if err := os.Symlink(selfBin, web); err != nil {
		t.Fatal(err)
	}
	s, sock := startCtl(t, "--interval=1h",
		"{", web, "helper", "sleep", "}",
		"{", "@web", selfBin, "helper", "sleep", "}")
	s.waitLog(1, msg("ALIVE", "server", 1))
	s.waitLog(1, msg("ALIVE", "server", 2))
	second := s.pidOf(2)
	if out := ctlOK(t, sock, "stop", "web"); !strings.Contains(out, "[2] web ") {
		t.Errorf("stop web said %q, want the second server, named web on the command line", out)
	}
	s.waitLog(1, msg("CREMATED", "server", 2, "pid", second))
	recs := list(t, sock)
	if in := recs["web-2"]; in.Index != 1 || in.State != "ALIVE" {
		t.Errorf("first server: %+v, want [1] web-2 ALIVE", in)
	}
	if code := s.stop(); code != 0 {
		t.Errorf("exit status %d", code)
	}
}

// A name of digits only is refused on the command line however long it
// is: a number too big for an int was taken as a name, which every
// respawnctl command then read as an index, so that it named nothing.
func TestLongNumericNameRefused(t *testing.T) {
	name := strings.Repeat("9", 20)
	file := tempFile(t, "started")
	code, _, stderr := runUsage(t, "--control=none",
		"{", "@"+name, "sh", "-c", "echo started >> "+file, "}")
	if code != 2 || !regexp.MustCompile(`index`).MatchString(stderr) {
		t.Errorf("exit %d, stderr %q; want 2 and a line saying a number reads as an index", code, stderr)
	}
	if l := lines(file); len(l) != 0 {
		t.Errorf("a server was started: %v", l)
	}
}

// Whatever a supervisor answers is shown escaped, in every error line of
// respawnctl: `respawnctl upgrade` printed the error of its first dump
// as it came, so that the peer at the socket could write escape
// sequences to the operator's terminal and forge lines.
func TestCtlErrorLinesEscaped(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "ctl.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go fakeSupervisor(ln, `{"ok":false,"code":"failed","error":"\u001b]0;owned\u0007\u001b[2J\nrespawnctl: upgraded: pid 1"}`)
	for _, args := range [][]string{{"upgrade"}, {"dump"}, {"list"}, {"status", "web"}} {
		_, stderr, code := ctl(t, sock, args...)
		if code == 0 || strings.ContainsAny(stderr, "\x1b\x07") || strings.Count(stderr, "\n") != 1 {
			t.Errorf("respawnctl %v: exit %d, stderr %q; want a failure on one line without control characters", args, code, stderr)
		}
	}
}

// fakeSupervisor answers every request on ln with the line answer.
func fakeSupervisor(ln net.Listener, answer string) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			r := bufio.NewReader(c)
			for {
				if _, err := r.ReadBytes('\n'); err != nil {
					return
				}
				if _, err := c.Write([]byte(answer + "\n")); err != nil {
					return
				}
			}
		}()
	}
}

// A control socket below a directory that other users can rename things
// in (world-writable, not sticky) is refused, naming that directory, and
// nothing starts: its own directory was checked on a descriptor, but the
// socket is bound and reached by path, and such a user could swap the
// directory for one of their own between the check and the bind.
func TestControlUnsafeParent(t *testing.T) {
	parent := filepath.Join(t.TempDir(), "shared")
	if err := os.Mkdir(parent, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(parent, 0o777); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(parent, "run")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	file := tempFile(t, "started")
	code, _, stderr := runUsage(t, "--control="+filepath.Join(dir, "control.sock"),
		"{", "sh", "-c", "echo started >> "+file, "}")
	if code != 2 || !strings.Contains(stderr, parent+": mode 0777") {
		t.Errorf("exit %d, stderr %q; want 2 and a line naming %s and its mode", code, stderr, parent)
	}
	if l := lines(file); len(l) != 0 {
		t.Errorf("a server was started: %v", l)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("%s holds %d entries, want none", dir, len(ents))
	}
}

// A control socket path of the longest length a socket address holds
// is served: respawn bound a temporary name beside it first, longer than
// the path, and refused to start with "bind: invalid argument".
func TestControlLongestPath(t *testing.T) {
	dir := t.TempDir()
	sub := strings.Repeat("d", 107-len(dir)-len("/c.sock")-1)
	sock := filepath.Join(dir, sub, "c.sock")
	s := start(t, "--control="+sock, "--interval=1h", "{", selfBin, "helper", "sleep", "}")
	t.Cleanup(func() { stopIfFailed(s) })
	s.waitLog(1, msg("ALIVE", "task", "control"))
	if out := ctlOK(t, sock, "status", "1"); !regexp.MustCompile(`(?m)^state: +ALIVE$`).MatchString(out) {
		t.Errorf("status 1 over a %d-byte socket path said %q", len(sock), out)
	}
	if code := s.stop(); code != 0 {
		t.Errorf("exit status %d", code)
	}
}

// A server run through a symlink, whose program file was replaced since
// (a package upgrade writes a new inode) and whose process rewrote its
// command line, is adopted by Recover, not started a second time beside
// the original: /proc/PID/exe names the symlink's target, which the
// symlink's own path and the new file's inode do not match.
func TestRecoverReplacedSymlinkedProgram(t *testing.T) {
	dir := t.TempDir()
	prog, link, pidFile := filepath.Join(dir, "prog"), filepath.Join(dir, "link"), filepath.Join(dir, "one")
	copyFile(t, selfBin, prog, 0o755)
	if err := os.Symlink(prog, link); err != nil {
		t.Fatal(err)
	}
	bin := copyBinary(t)
	s := startBin(t, bin, "", "--interval=50ms", "--control=none",
		"{", link, "helper", "rewrite", pidFile, "}",
		"{", selfBin, "helper", "sleep", "}")
	p1 := waitPidFile(t, pidFile)
	s.waitLog(1, msg("ALIVE", "server", 2))
	copyFile(t, selfBin, prog+".new", 0o755)
	if err := os.Rename(prog+".new", prog); err != nil {
		t.Fatal(err)
	}
	l := upgradeUnusable(s, bin)
	if l["adopted"] != float64(2) || l["started_afresh"] != float64(0) {
		t.Errorf("adopted %v, started afresh %v; want 2 and 0", l["adopted"], l["started_afresh"])
	}
	s.waitLog(1, msg("respawn upgraded"))
	if got := rewrittenPids(s.Pid); !slices.Equal(got, []int{p1}) {
		t.Errorf("processes of the server run through the symlink: %v, want %d alone", got, p1)
	}
	if got := dumpServer(s.dump(1), 1)["pid"]; got != float64(p1) {
		t.Errorf("server 1 adopted as pid %v, want %d", got, p1)
	}
	s.stop()
}

// When the snapshot is unusable, a server is adopted as the process that
// leads its group, not as a worker left behind by an earlier process of
// it, which has the same command line and is respawn's child too: Recover
// took the first child by command line, the worker, and left the server
// running unsupervised.
func TestRecoverPrefersLeaderToWorker(t *testing.T) {
	file := filepath.Join(t.TempDir(), "pids")
	bin := copyBinary(t)
	s := startBin(t, bin, "", "--interval=50ms", "--control=none",
		"{", selfBin, "helper", "forkworker", file, "}")
	l := waitLines(t, file, 3)
	var worker, server int
	fmt.Sscanf(l[0], "worker %d", &worker)
	fmt.Sscanf(l[2], "server %d", &server)
	if worker == 0 || server == 0 {
		t.Fatalf("pid file %q", l)
	}
	s.waitLog(1, msg("ALIVE", "server", 1, "pid", server))
	eventually(t, "the worker to be respawn's child", func() bool { return slices.Contains(children(s.Pid), worker) })
	rec := upgradeUnusable(s, bin)
	if rec["adopted"] != float64(1) || rec["started_afresh"] != float64(0) {
		t.Errorf("adopted %v, started afresh %v; want 1 and 0", rec["adopted"], rec["started_afresh"])
	}
	s.waitLog(1, msg("respawn upgraded"))
	if got := dumpServer(s.dump(1), 1)["pid"]; got != float64(server) {
		t.Errorf("server adopted as pid %v, want the group leader %d (the worker is %d)", got, server, worker)
	}
	s.stop()
	if !gone(worker) {
		t.Errorf("the worker %d outlived respawn", worker)
	}
}

// `--re-exec --state-fd=N` given by hand, N anything but a snapshot: one
// error line saying what N is not, the servers started from the command
// line, and stdout and stderr intact. Without --state-fd the line said
// "state descriptor -1 is stdio".
func TestStateFDByHand(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		file       func(t *testing.T) *os.File // given as descriptor 3
		fd         string
	}{
		{name: "none", want: "no state descriptor"},
		{name: "pipe", want: "descriptor 3 is not a sealed memfd", file: func(t *testing.T) *os.File {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { r.Close(); w.Close() })
			return r
		}},
		{name: "regular file", want: "descriptor 3 is not a sealed memfd", file: func(t *testing.T) *os.File {
			return openT(t, tempFile(t, "state"), os.O_RDWR|os.O_CREATE)
		}},
		{name: "directory", want: "descriptor 3 is not a sealed memfd", file: func(t *testing.T) *os.File {
			return openT(t, t.TempDir(), os.O_RDONLY)
		}},
		{name: "socket", want: "descriptor 3 is not a sealed memfd", file: func(t *testing.T) *os.File {
			fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { unix.Close(fds[1]) })
			f := os.NewFile(uintptr(fds[0]), "socket")
			t.Cleanup(func() { f.Close() })
			return f
		}},
		{name: "sealed memfd of garbage", want: "marshal", file: func(t *testing.T) *os.File {
			fd, err := unix.MemfdCreate("garbage", unix.MFD_ALLOW_SEALING)
			if err != nil {
				t.Fatal(err)
			}
			unix.Write(fd, []byte("\x81\xa1v\xcd\xff\xffgarbage"))
			if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_WRITE|unix.F_SEAL_SHRINK|unix.F_SEAL_GROW); err != nil {
				t.Fatal(err)
			}
			f := os.NewFile(uintptr(fd), "memfd")
			t.Cleanup(func() { f.Close() })
			return f
		}},
		{name: "above the limit", want: "descriptor 1048576 is not a sealed memfd", fd: "1048576"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"--re-exec"}
			if tc.file != nil {
				tc.fd = "3"
			}
			if tc.fd != "" {
				args = append(args, "--state-fd="+tc.fd)
			}
			// Inherited output: the server's lines show that respawn's own stdio is intact.
			args = append(args, "--log-format=json", "--control=none", "--output=inherit", "{", "sh", "-c", "echo out; echo err >&2", "}")
			cmd := exec.Command(respawnBin, args...)
			if tc.file != nil {
				cmd.ExtraFiles = []*os.File{tc.file(t)}
			}
			code, stdout, stderr := runCmd(t, cmd)
			if code != 0 || stdout != "out\n" || !strings.Contains(stderr, "\nerr\n") {
				t.Errorf("exit %d, stdout %q, stderr %q; want 0, the server's line on each", code, stdout, stderr)
			}
			var errs []string
			for _, l := range strings.Split(stderr, "\n") {
				var m map[string]any
				if json.Unmarshal([]byte(l), &m) == nil && m["level"] == "ERROR" {
					errs = append(errs, fmt.Sprint(m["reason"]))
				}
			}
			if len(errs) != 1 || !strings.Contains(errs[0], tc.want) || strings.Contains(errs[0], "stdio") {
				t.Errorf("error lines %q, want one whose reason says %q", errs, tc.want)
			}
		})
	}
}

func openT(t *testing.T, name string, flag int) *os.File {
	t.Helper()
	f, err := os.OpenFile(name, flag, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// runCmd runs cmd, which must end by itself within 10 s, and returns its
// exit status and output.
func runCmd(t *testing.T, cmd *exec.Cmd) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = unix.Kill(-cmd.Process.Pid, unix.SIGKILL)
		<-done
		t.Fatalf("%q did not exit", cmd.Args)
	}
	return cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()
}

// Two script servers that run one interpreter keep their own processes
// when the snapshot is unusable, whichever started first: a script's
// process shows "/bin/sh SCRIPT ARGS", which Recover did not take for the
// command line respawn started, so it matched both by the interpreter's
// executable, earliest started to the lowest index, and swapped them
// after the first had been restarted.
func TestRecoverScriptsKeepTheirOwn(t *testing.T) {
	dir := t.TempDir()
	var scripts, files [2]string
	for i, n := range []string{"a", "b"} {
		scripts[i], files[i] = filepath.Join(dir, n+".sh"), filepath.Join(dir, n+".pids")
		writeScript(t, scripts[i], "echo $$ >> \"$1\"\nsleep 1000 &\nwait\n")
	}
	bin := copyBinary(t)
	s := startBin(t, bin, "", "--interval=50ms", "--control=none",
		"{", scripts[0], files[0], "}", "{", scripts[1], files[1], "}")
	first, two := waitPidFile(t, files[0]), waitPidFile(t, files[1])
	waitLived(t, s, 1, 60e6)
	_ = unix.Kill(first, unix.SIGKILL) // restarted: now it started after server 2
	s.waitLog(1, msg("ALIVE", "server", 1, "from", "DEAD"))
	one, _ := strconv.Atoi(waitLines(t, files[0], 2)[1])
	rec := upgradeUnusable(s, bin)
	if rec["adopted"] != float64(2) || rec["started_afresh"] != float64(0) {
		t.Errorf("adopted %v, started afresh %v; want 2 and 0", rec["adopted"], rec["started_afresh"])
	}
	s.waitLog(1, msg("respawn upgraded"))
	d := s.dump(1)
	for i, want := range []int{one, two} {
		if got := dumpServer(d, i+1)["pid"]; got != float64(want) {
			t.Errorf("server %d adopted as pid %v, want %d", i+1, got, want)
		}
	}
	s.stop()
}
