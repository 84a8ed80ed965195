//go:build linux

package reexec

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func cloexec(t *testing.T, fd int) bool {
	t.Helper()
	flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	if err != nil {
		t.Fatal(err)
	}
	return flags&unix.FD_CLOEXEC != 0
}

// The state goes through a sealed memfd and comes back byte for byte.
func TestStateRoundTrip(t *testing.T) {
	for _, tt := range []struct {
		name  string
		state []byte
	}{
		{"empty", nil},
		{"small", []byte("snapshot")},
		{"a few pages", bytes.Repeat([]byte{0xa5, 0x5a}, 20000)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fd, err := sealedMemfd(tt.state)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := unix.Write(fd, []byte("x")); err == nil {
				t.Error("the memfd accepts writes: not sealed")
			}
			got, err := ReadState(fd)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.state) {
				t.Errorf("read %d bytes back, wrote %d", len(got), len(tt.state))
			}
			if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil {
				t.Error("ReadState left the descriptor open")
			}
		})
	}
}

// ReadState refuses what is not a sealed memfd: a plain file, a pipe (which
// could otherwise be read forever), a descriptor that is not open.
func TestReadStateRefuses(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "state")
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("not sealed")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	unsealed, err := unix.MemfdCreate("unsealed", unix.MFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		fd   int
	}{
		{"none given", -1},
		{"regular file", dupFD(t, int(f.Fd()))},
		{"pipe", dupFD(t, int(r.Fd()))},
		{"unsealed memfd", unsealed},
		{"closed descriptor", 1000},
		{"stdin", 0},
		{"stdout", 1},
		{"stderr", 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadState(tt.fd)
			if err == nil {
				t.Error("accepted")
			}
			if tt.fd < 0 && !strings.Contains(err.Error(), "no state descriptor") || tt.fd >= 0 && strings.Contains(err.Error(), "no state") {
				t.Errorf("error %q", err)
			}
			if tt.fd < 0 || tt.fd == 1000 {
				return
			}
			if _, err := unix.FcntlInt(uintptr(tt.fd), unix.F_GETFD, 0); err != nil {
				t.Errorf("ReadState closed descriptor %d, which is not its to close", tt.fd)
			}
		})
	}
}

func dupFD(t *testing.T, fd int) int {
	t.Helper()
	nfd, err := unix.Dup(fd)
	if err != nil {
		t.Fatal(err)
	}
	return nfd
}

// An execve that fails leaves everything as it was: the kept descriptors
// close-on-exec again, RLIMIT_NOFILE (which syscall.Exec lowers) and the
// signal mask restored, and no memfd left open.
func TestExecFailureRestores(t *testing.T) {
	var rl unix.Rlimit
	unix.Getrlimit(unix.RLIMIT_NOFILE, &rl)
	if rl.Cur == rl.Max && os.Getenv("REEXEC_TEST_LOWERED") == "" {
		// The Go runtime raised nothing at start-up, so syscall.Exec has
		// nothing to lower: run this test again in a child started with a
		// lower soft limit, which its runtime raises.
		lowered := unix.Rlimit{Cur: rl.Max / 2, Max: rl.Max}
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lowered); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestExecFailureRestores$", "-test.v")
		cmd.Env = append(os.Environ(), "REEXEC_TEST_LOWERED=1")
		out, err := cmd.CombinedOutput()
		unix.Setrlimit(unix.RLIMIT_NOFILE, &rl)
		if err != nil {
			t.Fatalf("with a lowered soft limit: %v\n%s", err, out)
		}
		return
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	keep := []int{int(r.Fd()), int(w.Fd())}
	var before, after unix.Rlimit
	unix.Getrlimit(unix.RLIMIT_NOFILE, &before)
	fdsBefore := openFDs(t)

	err = Exec("/nonexistent/respawn", []string{"{", "x", "}"}, os.Environ(), []byte("state"), keep, []syscall.Signal{unix.SIGUSR1})
	if err == nil {
		t.Fatal("Exec of a missing binary returned nil")
	}
	for _, fd := range keep {
		if !cloexec(t, fd) {
			t.Errorf("descriptor %d lost close-on-exec", fd)
		}
	}
	unix.Getrlimit(unix.RLIMIT_NOFILE, &after)
	if after != before {
		t.Errorf("RLIMIT_NOFILE %+v after a failed exec, was %+v", after, before)
	}
	if n := openFDs(t); n != fdsBefore {
		t.Errorf("%d descriptors open after a failed exec, %d before: the memfd leaked", n, fdsBefore)
	}
	var mask unix.Sigset_t
	unix.PthreadSigmask(unix.SIG_BLOCK, nil, &mask)
	if mask.Val[0]&(1<<(unix.SIGUSR1-1)) != 0 {
		t.Error("SIGUSR1 still blocked after a failed exec")
	}
}

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// A descriptor that cannot be kept (not open) refuses the exec before it
// happens, and the ones already cleared get close-on-exec back.
func TestExecBadKeptDescriptor(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	err = Exec("/bin/true", nil, os.Environ(), nil, []int{int(r.Fd()), 1001}, nil)
	if err == nil {
		t.Fatal("Exec with a closed kept descriptor returned nil")
	}
	if !cloexec(t, int(r.Fd())) {
		t.Error("the first kept descriptor lost close-on-exec")
	}
}

// CloseInherited closes what is not kept and leaves stdio and the kept
// descriptors alone. It runs in a child (this test binary again, see
// TestMain), since it would close the test process's own descriptors.
func TestCloseInherited(t *testing.T) {
	stray, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer stray.Close()
	kept, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer kept.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "REEXEC_TEST_HELPER=closeinherited")
	cmd.ExtraFiles = []*os.File{stray, kept} // descriptors 3 and 4 in the child
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
}

func TestMain(m *testing.M) {
	if os.Getenv("REEXEC_TEST_HELPER") == "closeinherited" {
		os.Exit(closeInheritedHelper())
	}
	os.Exit(m.Run())
}

// closeInheritedHelper keeps descriptor 4 and wants 3 closed, 0-2 and 4 open.
func closeInheritedHelper() int {
	CloseInherited(map[int]bool{4: true})
	if _, err := unix.FcntlInt(3, unix.F_GETFD, 0); err == nil {
		fmt.Println("descriptor 3 was not closed")
		return 1
	}
	for _, fd := range []uintptr{0, 1, 2, 4} {
		if _, err := unix.FcntlInt(fd, unix.F_GETFD, 0); err != nil {
			fmt.Println("descriptor", fd, "was closed")
			return 1
		}
	}
	return 0
}
