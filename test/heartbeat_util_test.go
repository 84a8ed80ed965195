//go:build linux

package test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The example clients of the heartbeat monitor, as README shows them.
var (
	shellClient = filepath.Join("..", "dist", "heartbeat", "client.sh")

	goClientOnce sync.Once
	goClientBin  string
	goClientErr  error
)

// goClient builds dist/heartbeat/client once, next to the binaries under
// test.
func goClient(t *testing.T) string {
	t.Helper()
	goClientOnce.Do(func() {
		goClientBin = filepath.Join(filepath.Dir(respawnBin), "heartbeat-client")
		out, err := exec.Command("go", "build", "-o", goClientBin, "../dist/heartbeat/client").CombinedOutput()
		if err != nil {
			goClientErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if goClientErr != nil {
		t.Fatal(goClientErr)
	}
	return goClientBin
}

var (
	beaterOnce sync.Once
	beaterBin  string
	beaterErr  error
)

// beater builds testdata/beater.c once, next to the binaries under test:
// a registrant light enough to run 500 of on two cores.
func beater(t *testing.T) string {
	t.Helper()
	beaterOnce.Do(func() {
		beaterBin = filepath.Join(filepath.Dir(respawnBin), "beater")
		out, err := exec.Command("gcc", "-O2", "-o", beaterBin, "testdata/beater.c").CombinedOutput()
		if err != nil {
			beaterErr = fmt.Errorf("gcc: %v\n%s", err, out)
		}
	})
	if beaterErr != nil {
		t.Fatal(beaterErr)
	}
	return beaterBin
}

// heartbeatDir is a registration directory as respawn wants it: owned
// by root, sticky, writable by all.
func heartbeatDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "ahm")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	return dir
}

// shellGroup is a group running the shell client as a server, its FIFO
// in a directory of the test's.
func shellGroup(t *testing.T, dir, name string, ms, misses int, action string, beats int) []string {
	return []string{"{", "@" + name, "env", "TMPDIR=" + t.TempDir(), "bash", shellClient, dir, name,
		strconv.Itoa(ms), strconv.Itoa(misses), action, strconv.Itoa(beats), "}"}
}

// registered waits for the line of pid's registration.
func registered(s *Sup, pid int) map[string]any {
	s.t.Helper()
	return s.waitLog(1, msg(fmt.Sprintf("heartbeat: registration completed for PID %d", pid)))
}

// heartbeatSection asks for the info dump and returns its heartbeat
// section (a barrier too: see watchDump).
func heartbeatSection(t *testing.T, s *Sup) map[string]any {
	t.Helper()
	d := s.dump(s.count(msg("info dump")) + 1)
	h, _ := d["heartbeat"].(map[string]any)
	if h == nil {
		t.Fatal("the info dump has no heartbeat section")
	}
	return h
}

// registrants are the dump section's registrants by pid.
func registrants(h map[string]any) map[int]map[string]any {
	out := map[int]map[string]any{}
	list, _ := h["registrants"].([]any)
	for _, r := range list {
		m := r.(map[string]any)
		out[int(m["pid"].(float64))] = m
	}
	return out
}

// spawnProc starts a process the test owns, killed and reaped by pid when
// the test ends.
func spawnProc(t *testing.T, name string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd
}

// holdFIFO starts a process (through the command prefix as, e.g.
// setpriv) that holds fifo open for reading and writing, and waits until
// it does.
func holdFIFO(t *testing.T, fifo string, as ...string) int {
	t.Helper()
	args := append(as, "sh", "-c", `exec 3<>"$0"; exec sleep 30`, fifo)
	pid := spawnProc(t, args[0], args[1:]...).Process.Pid
	eventually(t, "the holder has the fifo open", func() bool {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		link, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/3", pid))
		return string(b) == "sleep\n" && link == fifo
	})
	return pid
}

func makeFIFO(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "beat.fifo")
	if err := unix.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// writeRegistration puts a registration for pid in dir as the clients
// do (written aside, renamed in) and returns its name.
func writeRegistration(t *testing.T, dir string, pid int, body string) string {
	t.Helper()
	name := fmt.Sprintf(".phm_%d_%d", pid, time.Now().UnixNano()%1e9)
	tmp := filepath.Join(dir, "tmp"+name)
	if err := os.WriteFile(tmp, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
	return name
}

func registration(fifo, action string) string {
	return fmt.Sprintf("fifo=%s\nperiod=100ms\nmisses=2\naction=%s\nname=forged\n", fifo, action)
}

func fileExists(dir, name string) bool {
	_, err := os.Lstat(filepath.Join(dir, name))
	return err == nil
}
