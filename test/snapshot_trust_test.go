//go:build linux

package test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"
	"golang.org/x/sys/unix"

	"respawn/reexec"
)

func init() {
	moreHelpers["forgeexec"] = forgeExec
	moreHelpers["bystander"] = bystander
}

// forgeExec plays a new image's launcher that hands over a forged snapshot:
// "forgeexec REAL --state-fd=N EDIT ARGS..." reads the real snapshot from
// N, edits it, seals it in a new memfd and execs "REAL --re-exec
// --state-fd=M ARGS". The edit is made on the raw msgpack map, as an
// attacker would, not through marshal's Encode (which refuses it). EDIT is
//
//	pgid:N          every server record's pgid set to N
//	pgid:file:PATH  the same, N the pid on the first line of PATH
//	gen:N           the generation set to N
//	twin            record 2 made an ALIVE copy of record 1's process
//	watchpid:PATH   the first watched process's pid and pgid set to the
//	                pid on the first line of PATH
func forgeExec(args []string) int {
	real, fdArg, edit := args[0], args[1], args[2]
	fd, err := strconv.Atoi(strings.TrimPrefix(fdArg, "--state-fd="))
	if err != nil {
		return 94
	}
	b, err := reexec.ReadState(fd)
	if err != nil {
		return 94
	}
	var m map[string]any
	if msgpack.Unmarshal(b, &m) != nil || forgeEdit(m, edit) != nil {
		return 93
	}
	forged, err := msgpack.Marshal(m)
	if err != nil {
		return 93
	}
	return execWithState(real, forged, args[3:])
}

func forgeEdit(m map[string]any, edit string) error {
	recs := m["recs"].([]any)
	kind, arg, _ := strings.Cut(edit, ":")
	switch kind {
	case "pgid":
		pgid, err := forgedPgid(arg)
		if err != nil {
			return err
		}
		for _, r := range recs {
			if rec := r.(map[string]any); rec["task"] != true {
				rec["pgid"] = pgid
			}
		}
	case "gen":
		n, err := strconv.ParseInt(arg, 10, 64)
		if err != nil {
			return err
		}
		m["gen"] = n
	case "watchpid":
		pid, err := forgedPgid("file:" + arg)
		if err != nil {
			return err
		}
		w := m["watch"].(map[string]any)["procs"].([]any)[0].(map[string]any)
		w["pid"], w["pgid"] = pid, pid
	case "twin":
		one, two := recs[0].(map[string]any), recs[1].(map[string]any)
		for _, k := range []string{"state", "pid", "pgid", "proc_start", "start", "start_rt"} {
			two[k] = one[k]
		}
	default:
		return fmt.Errorf("unknown edit %q", edit)
	}
	return nil
}

func forgedPgid(arg string) (int, error) {
	if f, ok := strings.CutPrefix(arg, "file:"); ok {
		l := lines(f)
		if len(l) == 0 {
			return 0, fmt.Errorf("%s is empty", f)
		}
		return strconv.Atoi(l[0])
	}
	return strconv.Atoi(arg)
}

// forgeOnUpgrade makes bin a launcher that hands the next image the
// snapshot edited by EDIT (see forgeExec).
func forgeOnUpgrade(t *testing.T, bin, edit string) {
	t.Helper()
	writeScript(t, bin, fmt.Sprintf(`case "$1" in
--re-exec) fd="$2"; shift 2; exec %s helper forgeexec %s "$fd" %s "$@";;
esac
exec %s "$@"
`, selfBin, respawnBin, edit, respawnBin))
}

// execWithState execs "real --re-exec --state-fd=M args", M a sealed memfd
// holding state.
func execWithState(real string, state []byte, args []string) int {
	fd, err := unix.MemfdCreate("forged", unix.MFD_ALLOW_SEALING)
	if err != nil {
		return 92
	}
	if _, err := unix.Write(fd, state); err != nil {
		return 92
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_WRITE|unix.F_SEAL_SHRINK|unix.F_SEAL_GROW); err != nil {
		return 92
	}
	argv := append([]string{real, "--re-exec", "--state-fd=" + strconv.Itoa(fd)}, args...)
	_ = unix.Exec(real, argv, os.Environ())
	return 91
}

// bystander is a process that has nothing to do with respawn, in a
// process group of its own: "bystander FILE" writes its pid to FILE, then
// records every signal it gets there, as the "signals" helper does.
func bystander(args []string) int {
	appendLine(args[0], strconv.Itoa(os.Getpid()))
	return recordSignals(args[0])
}

// nsRun is a respawn started in a new pid namespace by a shell that is the
// namespace's init, beside a bystander of its own group. A signal respawn
// sends to a wrong group (kill(-1) above all) then reaches no process
// outside the namespace.
type nsRun struct {
	*Sup
	init    int // the shell, pid 1 of the namespace, by its pid outside
	respawn int // respawn, by its pid outside
	file    string
}

// startInNamespace runs bin (a copy of respawn) with args in a new pid
// namespace; byFile is the bystander's file.
func startInNamespace(t *testing.T, bin, byFile string, args ...string) *nsRun {
	t.Helper()
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Fatal(err)
	}
	script := fmt.Sprintf(`setsid %s helper bystander %s &
"$@"
echo "respawn exited $?"
exec sleep 300
`, selfBin, byFile)
	argv := append([]string{"--fork", "--pid", "--mount-proc", "sh", "-c", script, "sh", bin, "--log-format=json"}, args...)
	n := &nsRun{Sup: launch(t, exec.Command(unshare, argv...)), file: byFile}
	t.Cleanup(func() {
		if n.init > 0 {
			_ = unix.Kill(n.init, unix.SIGKILL) // the kernel kills the rest of the namespace
		}
		_ = unix.Kill(n.Pid, unix.SIGKILL)
		<-n.done
		checkNoChildren(t)
		if t.Failed() {
			n.dumpLogs()
		}
	})
	eventually(t, "respawn in the namespace", func() bool {
		for _, k := range descendants(n.Pid) {
			switch c := cmdline(k); {
			case strings.HasPrefix(c, "sh -c"):
				n.init = k
			case strings.HasPrefix(c, bin+" "):
				n.respawn = k
			}
		}
		return n.init > 0 && n.respawn > 0
	})
	waitLines(t, byFile, 2)
	return n
}

// signalsOf is the signal names a "signals" or "bystander" helper recorded.
func signalsOf(file string) []string {
	var out []string
	for _, l := range lines(file) {
		if strings.HasPrefix(l, "SIG") {
			out = append(out, l)
		}
	}
	return out
}

func waitSignal(t *testing.T, file, sig string) {
	t.Helper()
	eventually(t, file+" got "+sig, func() bool { return slices.Contains(signalsOf(file), sig) })
}

// A snapshot whose servers name a process group not their own (1, which
// makes kill(-pgid) reach every process, or a bystander's) makes no signal
// reach that group: not SIGWINCH forwarded, not `respawnctl signal`, not
// `respawnctl stop`, not the SIGTERM that stops everything. The servers
// themselves get each signal, and the bystander none.
func TestForgedSnapshotPgid(t *testing.T) {
	for _, tc := range []struct {
		name, pgid string
		unusable   bool // refused whole: recovered from /proc
	}{
		{name: "pgid 1", pgid: "1", unusable: true},
		{name: "a bystander's group", pgid: "bystander"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			bin, sock := copyBinary(t), filepath.Join(dir, "control.sock")
			byFile, s1, s2 := filepath.Join(dir, "bystander"), filepath.Join(dir, "s1"), filepath.Join(dir, "s2")
			n := startInNamespace(t, bin, byFile, "--control="+sock,
				"{", selfBin, "helper", "signals", s1, "}", "{", selfBin, "helper", "signals", s2, "}")
			waitLines(t, s1, 1)
			waitLines(t, s2, 1)
			pgid := tc.pgid
			if pgid == "bystander" {
				pgid = "file:" + byFile
			}
			forgeOnUpgrade(t, bin, "pgid:"+pgid)
			if err := unix.Kill(n.respawn, unix.SIGHUP); err != nil {
				t.Fatal(err)
			}
			n.waitLog(1, msg("respawn upgraded", "generation", 1))
			if got := n.count(msg("respawn: upgrade snapshot unusable; recovered from the command line and /proc")); got != boolInt(tc.unusable) {
				t.Errorf("recovered %d times, want %d", got, boolInt(tc.unusable))
			}
			_ = unix.Kill(n.respawn, unix.SIGWINCH)
			waitSignal(t, s1, "SIGWINCH")
			waitSignal(t, s2, "SIGWINCH")
			ctlOK(t, sock, "signal", "1", "USR1")
			waitSignal(t, s1, "SIGUSR1")
			ctlOK(t, sock, "stop", "1")
			waitSignal(t, s1, "SIGTERM")
			n.waitLog(1, msg("CREMATED", "server", 1))
			_ = unix.Kill(n.respawn, unix.SIGTERM)
			n.waitText(regexp.MustCompile(`^respawn exited 0$`))
			if got := signalsOf(s2); !slices.Contains(got, "SIGWINCH") || !slices.Contains(got, "SIGTERM") {
				t.Errorf("server 2 got %v, want SIGWINCH and SIGTERM", got)
			}
			if got := signalsOf(byFile); len(got) != 0 {
				t.Errorf("the bystander got %v, want nothing", got)
			}
			by := 0
			for _, k := range children(n.init) {
				if strings.Contains(cmdline(k), "helper bystander") {
					by = k
				}
			}
			if by == 0 || !alive(by) {
				t.Errorf("the bystander is gone")
			}
		})
	}
}

// `--state-fd=1` (stdout, a wrong number given by hand or by a broken
// launcher) is refused without closing stdout: respawn says so in one
// error line, recovers from its command line, and its servers still write
// where its stdout goes.
func TestStateFDStdout(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd := exec.Command(respawnBin, "--re-exec", "--state-fd=1", "--log-format=json", "--control=none", "--output=inherit",
		"{", "sh", "-c", "echo hello from the server; exec "+selfBin+" helper sleep", "}")
	s := &Sup{t: t, cmd: cmd, done: make(chan struct{})}
	s.cond = sync.NewCond(&s.mu)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	s.Pid = cmd.Process.Pid
	go s.read(stderr)
	t.Cleanup(s.cleanup)
	guard(s)

	_ = r.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil || line != "hello from the server\n" {
		t.Errorf("respawn's stdout gave %q, %v; want the server's line", line, err)
	}
	s.waitLog(1, msg("ALIVE", "server", 1))
	if n := s.count(func(l map[string]any) bool { return l["level"] == "ERROR" }); n != 1 {
		t.Errorf("%d error lines, want 1", n)
	}
	l := s.waitLog(1, msg("respawn: upgrade snapshot unusable; recovered from the command line and /proc"))
	if reason, _ := l["reason"].(string); !strings.Contains(reason, "descriptor 1") {
		t.Errorf("reason %q does not name descriptor 1", reason)
	}
	if code := s.stop(); code != 0 {
		t.Errorf("exit status %d, want 0", code)
	}
}

// A snapshot with two ALIVE records of one process is refused: respawn
// recovers from /proc, adopts the process once, starts the other server,
// and stops at once on SIGTERM. Both records used to be adopted, and the
// one the reaper no longer knew stayed ALIVE for ever, so respawn never
// exited.
func TestForgedSnapshotTwin(t *testing.T) {
	bin := copyBinary(t)
	s := startBin(t, bin, "", "--control=none", "--stop-timeout=30s",
		"{", selfBin, "helper", "sleep", "}", "{", selfBin, "helper", "sleep", "}")
	p1 := s.waitLog(1, msg("ALIVE", "server", 1))["pid"]
	s.waitLog(1, msg("ALIVE", "server", 2))
	forgeOnUpgrade(t, bin, "twin")
	s.signal(unix.SIGHUP)
	l := s.waitLog(1, msg("respawn: upgrade snapshot unusable; recovered from the command line and /proc"))
	if reason, _ := l["reason"].(string); !strings.Contains(reason, "repeats record 1") {
		t.Errorf("reason %q, want the repeated pid", reason)
	}
	d := s.dump(1)
	if got := dumpServer(d, 1)["pid"]; got != p1 {
		t.Errorf("server 1 is pid %v after recovery, want %v", got, p1)
	}
	if p2 := dumpServer(d, 2)["pid"]; p2 == p1 || dumpServer(d, 2)["state"] != "ALIVE" {
		t.Errorf("server 2 is %v pid %v, want ALIVE in a process of its own", dumpServer(d, 2)["state"], p2)
	}
	if code := s.stop(); code != 0 {
		t.Errorf("exit status %d, want 0", code)
	}
}

// A generation at the top of its range does not overflow: a snapshot of
// generation MaxInt64 is refused and recovered from (generation 1), and
// the upgrades after it work. It used to wrap negative, and every later
// upgrade failed to encode.
func TestForgedSnapshotGeneration(t *testing.T) {
	bin := copyBinary(t)
	s := startBin(t, bin, "", "--control=none", "{", selfBin, "helper", "sleep", "}")
	p1 := s.waitLog(1, msg("ALIVE", "server", 1))["pid"]
	forgeOnUpgrade(t, bin, "gen:9223372036854775807")
	s.signal(unix.SIGHUP)
	s.waitLog(1, msg("respawn: upgrade snapshot unusable; recovered from the command line and /proc"))
	s.waitLog(1, msg("respawn upgraded", "generation", 1))
	writeScript(t, bin, fmt.Sprintf("exec %s \"$@\"\n", respawnBin))
	s.upgrade(2)
	s.upgrade(3)
	if got := dumpServer(s.dump(1), 1)["pid"]; got != p1 {
		t.Errorf("server pid %v after the upgrades, want %v", got, p1)
	}
	s.stop()
}
