//go:build linux

package test

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func init() {
	moreHelpers["probe"] = probe
	moreHelpers["dirty"] = dirty
}

// probe is a server that appends "PID SIGBLK SIGIGN FDS" to the file
// args[0], then sleeps: its signal mask and ignored signals as /proc shows
// them (hex), and the descriptors it was started with. The descriptors are
// listed with fcntl before anything is opened, so that the probe's own
// files do not count; the Go runtime's own (the cgroup CPU limits it reads
// at start for GOMAXPROCS) are left out.
func probe(args []string) int {
	var fds []string
	for fd := 0; fd < 1024; fd++ {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
			continue
		}
		buf := make([]byte, 256)
		n, _ := unix.Readlink("/proc/self/fd/"+strconv.Itoa(fd), buf)
		if !strings.HasPrefix(string(buf[:max(n, 0)]), "/sys/fs/cgroup/") {
			fds = append(fds, strconv.Itoa(fd))
		}
	}
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 97
	}
	field := func(name string) string {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, name+":"); ok {
				return strings.TrimSpace(v)
			}
		}
		return "?"
	}
	appendLine(args[0], fmt.Sprintf("%d %s %s %s", os.Getpid(), field("SigBlk"), field("SigIgn"), strings.Join(fds, ",")))
	return pause()
}

// dirtySignals are blocked, and dirtyIgnored ignored, by dirty before it
// starts respawn, as a careless parent (nohup, a daemon starter, a shell
// with traps) may leave them.
var (
	dirtySignals = []unix.Signal{unix.SIGUSR1, unix.SIGUSR2, unix.SIGWINCH, unix.SIGCHLD, unix.SIGHUP, unix.SIGALRM, unix.SIGPIPE}
	dirtyIgnored = []os.Signal{unix.SIGHUP, unix.SIGINT, unix.SIGPIPE, unix.SIGUSR2, unix.SIGALRM, unix.SIGTSTP, unix.SIGCONT, unix.Signal(37)}
)

// dirty execs args (respawn) with dirtySignals blocked and dirtyIgnored
// ignored: both survive execve, which exec.Cmd cannot arrange.
func dirty(args []string) int {
	signal.Ignore(dirtyIgnored...)
	runtime.LockOSThread()
	var set unix.Sigset_t
	for _, s := range dirtySignals {
		set.Val[(s-1)/64] |= 1 << ((uint(s) - 1) % 64)
	}
	if err := unix.PthreadSigmask(unix.SIG_BLOCK, &set, nil); err != nil {
		return 96
	}
	return 95 + boolInt(unix.Exec(args[0], args, os.Environ()) != nil)
}

// Servers start clean, whatever respawn inherited and before and after a
// live upgrade: an empty signal mask, no ignored signal, and descriptors
// 0, 1 and 2 only. Reproduces three defects: servers spawned after an
// upgrade started with SIGUSR1, SIGUSR2 and SIGWINCH blocked; a SIG_IGN
// respawn inherited reached them; and a descriptor respawn inherited
// reached the servers started before the first upgrade.
func TestServersStartClean(t *testing.T) {
	for _, dirtyParent := range []bool{false, true} {
		t.Run(fmt.Sprintf("dirty parent %v", dirtyParent), func(t *testing.T) {
			bin := copyBinary(t)
			file := tempFile(t, "probe")
			extra, err := os.Open(os.DevNull) // descriptor 3 in respawn
			if err != nil {
				t.Fatal(err)
			}
			defer extra.Close()
			args := []string{bin, "--log-format=json", "--control=none", "--interval=50ms", "{", selfBin, "helper", "probe", file, "}"}
			if dirtyParent {
				args = append([]string{selfBin, "helper", "dirty"}, args...)
			}
			cmd := exec.Command(args[0], args[1:]...)
			cmd.ExtraFiles = []*os.File{extra}
			s := launch(t, cmd)
			t.Cleanup(s.cleanup)
			guard(s)
			checkProbe(t, waitLines(t, file, 1)[0], "before any upgrade")
			s.upgrade(1)
			first := s.pidOf(1)
			waitLived(t, s, 1, 50e6)
			killWait(t, first)
			s.waitLog(1, msg("ALIVE", "server", 1, "from", "DEAD"))
			checkProbe(t, waitLines(t, file, 2)[1], "spawned by the upgraded image")
			s.stop()
		})
	}
}

// checkProbe checks one line of a probe's file.
func checkProbe(t *testing.T, line, when string) {
	t.Helper()
	f := strings.Fields(line)
	if len(f) != 4 {
		t.Fatalf("probe line %q", line)
	}
	if blk, _ := strconv.ParseUint(f[1], 16, 64); blk != 0 {
		t.Errorf("%s: a server started with signals blocked: SigBlk %s", when, f[1])
	}
	if ign, _ := strconv.ParseUint(f[2], 16, 64); ign != 0 {
		t.Errorf("%s: a server started with signals ignored: SigIgn %s", when, f[2])
	}
	if f[3] != "0,1,2" {
		t.Errorf("%s: a server started with descriptors %s, want 0,1,2 only", when, f[3])
	}
}
