//go:build linux

package watch

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

var update = flag.Bool("update", false, "rewrite the FuzzParse seed corpus from datagrams the kernel sends now")

// seedKinds are the proc events captured for the seed corpus, by what,
// with the events Parse makes of each.
var seedKinds = map[uint32]struct {
	name   string
	events int
}{
	procEventNone: {"ack", 1},
	procEventFork: {"fork", 0},
	procEventExec: {"exec", 1},
	procEventComm: {"comm", 0},
	procEventSID:  {"sid", 0},
	procEventExit: {"exit", 1},
}

// capture listens to every proc event (the 4-byte listen, no filter),
// runs setsid sh -c 'exit 3', renames a thread, and returns the first datagram of each kind
// in seedKinds.
func capture(t *testing.T) map[uint32][]byte {
	t.Helper()
	c, err := open(Options{NoFilter: true, RcvBuf: MaxRcvBuf}, false)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.send(listenMsg(mcastListen, 0, false, 1)); err != nil {
		t.Fatal(err)
	}
	exec.Command("setsid", "sh", "-c", "exit 3").Run()
	renameThread(t)
	c.s.SetReadDeadline(time.Now().Add(10 * time.Second))
	got := map[uint32][]byte{}
	for len(got) < len(seedKinds) {
		n, err := c.recv()
		if errors.Is(err, unix.ENOBUFS) {
			continue
		}
		if err != nil {
			t.Fatalf("captured %d kinds of %d (%v): %v", len(got), len(seedKinds), keys(got), err)
		}
		if n < offWhat+4 {
			continue
		}
		what := ne.Uint32(c.buf[offWhat:])
		if _, ok := seedKinds[what]; ok && got[what] == nil {
			got[what] = append([]byte(nil), c.buf[:n]...)
		}
	}
	return got
}

// TestSeedCorpus keeps testdata/fuzz/FuzzParse made of datagrams the
// kernel sent: each stored one parses to its events and has the layout of
// what the kernel sends now. After a kernel changes the format, run
// go test ./watch -run TestSeedCorpus -update.
func TestSeedCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzParse")
	live := capture(t)
	for what, kind := range seedKinds {
		t.Run(kind.name, func(t *testing.T) {
			path := filepath.Join(dir, kind.name)
			if *update {
				os.MkdirAll(dir, 0o755)
				if err := os.WriteFile(path, fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", live[what]), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			stored := readSeed(t, path)
			if evs, err := Parse(nil, stored); err != nil || len(evs) != kind.events {
				t.Errorf("%s parses to %+v, %v; want %d events", path, evs, err, kind.events)
			}
			if !sameLayout(stored, live[what]) {
				t.Errorf("%s (% x) is not laid out as the kernel's datagram now (% x); run with -update", path, stored, live[what])
			}
		})
	}
}

// readSeed reads one []byte input of a go test fuzz v1 file.
func readSeed(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v; run with -update", err)
	}
	s, ok := strings.CutPrefix(strings.TrimSpace(string(data)), "go test fuzz v1\n[]byte(")
	if q, ok2 := strings.CutSuffix(s, ")"); ok && ok2 {
		if b, err := strconv.Unquote(q); err == nil {
			return []byte(b)
		}
	}
	t.Fatalf("%s is not a go test fuzz v1 file of one []byte", path)
	return nil
}

// sameLayout compares the lengths, types and ids of two datagrams, and
// the kind of their events.
func sameLayout(a, b []byte) bool {
	if len(a) != len(b) || len(a) < offWhat+4 {
		return false
	}
	for _, off := range []int{0, 4, offCnIdx, offCnVal, nlHdrLen + 16, offWhat} {
		if ne.Uint32(a[off:]) != ne.Uint32(b[off:]) {
			return false
		}
	}
	return true
}

// TestIntegrationMaskDropsForks: after Open on a 6.6+ kernel the kernel
// itself sends this socket no fork event (the 8-byte listen's mask), even
// with no BPF filter, while exits still come.
func TestIntegrationMaskDropsForks(t *testing.T) {
	c := openConn(t, Options{NoFilter: true, RcvBuf: MaxRcvBuf})
	if !c.Masked() {
		t.Fatal("the 8-byte listen was not acknowledged on a 6.6+ kernel")
	}
	sh := exec.Command("sh", "-c", `i=0; while [ $i -lt 100 ]; do (:); i=$((i+1)); done`)
	if err := sh.Start(); err != nil {
		t.Fatal(err)
	}
	go sh.Wait()
	c.s.SetReadDeadline(time.Now().Add(20 * time.Second))
	forks, exits, overruns := 0, 0, 0
	for {
		n, err := c.recv()
		if errors.Is(err, unix.ENOBUFS) {
			overruns++ // the machine's own storms: a loss, not a fork
			continue
		}
		if err != nil {
			t.Fatalf("no exit of the shell (pid %d) after %d exits: %v", sh.Process.Pid, exits, err)
		}
		switch what := ne.Uint32(c.buf[offWhat:]); {
		case n < offData+exitLen:
		case what == procEventFork && int(ne.Uint32(c.buf[offData+4:])) == sh.Process.Pid:
			// The shell's own forks: any other fork here may have been
			// queued between Open's 4-byte listen and its mask.
			forks++
		case what == procEventExit && int(ne.Uint32(c.buf[offPid:])) == sh.Process.Pid:
			if forks != 0 || exits < 100 && overruns == 0 {
				t.Errorf("%d forks and %d exits (%d overruns) before the shell's exit; want no fork and 100 exits", forks, exits, overruns)
			}
			return
		case what == procEventExit:
			exits++
		}
	}
}

func keys(m map[uint32][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, seedKinds[k].name)
	}
	return out
}

// renameThread renames this thread and back (prctl PR_SET_NAME: the only
// source of a comm event).
func renameThread(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var old [16]byte
	if err := unix.Prctl(unix.PR_GET_NAME, uintptr(unsafe.Pointer(&old[0])), 0, 0, 0); err != nil {
		t.Fatal(err)
	}
	name := []byte("watch-seed\x00")
	unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(&name[0])), 0, 0, 0)
	unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(&old[0])), 0, 0, 0)
}
