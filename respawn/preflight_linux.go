//go:build linux

package respawn

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"respawn/marshal"
	"respawn/reexec"
)

// The pre-flight check of a live upgrade: the new binary, started as
// "BINARY --upgrade-check=VERSION --state-fd=3 ARGS..." with a copy of the
// snapshot in a sealed memfd, decodes it, dry-runs the restore and
// answers one line with the digest of what it read (marshal.Digest).
const (
	upgradeCheckOK   = "respawn upgrade-check: ok"
	digestKey        = "digest="
	preflightTimeout = 5 * time.Second
	answerGrace      = 100 * time.Millisecond // reading on once the check is reaped
	preflightStateFD = 3                      // the snapshot's descriptor in the check
)

// upgrading is a live upgrade whose pre-flight check runs beside the
// event loop. Every field is the loop's but reaped, which the watcher
// goroutine waits on: the check is a child of ours, so the loop's one
// reaper collects it (see preflightReaped), never the watcher.
type upgrading struct {
	bin     string
	exe     binaryID // bin as it was when the check started
	pid     int      // the check's pid until it is reaped, then 0
	digest  string   // what the check must answer
	waiters []func(error)
	reaped  chan struct{} // closed when the reaper has collected the check
	status  syscall.WaitStatus

	answered bool   // the watcher has reported
	out      []byte // what the check printed
	timedOut bool
	err      error // set when the upgrade was cancelled
}

// startUpgrade starts the pre-flight check of a live upgrade and returns
// at once; the loop goes on supervising while the check runs.
func (s *Supervisor) startUpgrade() (*upgrading, error) {
	snap := s.snapshot()
	state, err := marshal.Encode(snap)
	if err != nil {
		return nil, fmt.Errorf("respawn: upgrade: %w", err)
	}
	u := &upgrading{bin: s.cfg.Binary, digest: marshal.Digest(snap), reaped: make(chan struct{})}
	if u.exe, err = statBinary(u.bin); err != nil {
		return nil, fmt.Errorf("respawn: upgrade: %w", err)
	}
	out, err := u.start(state, s.env, s.cfg.Args)
	if err != nil {
		return nil, err
	}
	go u.watch(s, out)
	return u, nil
}

// start forks the check with the snapshot at descriptor 3 and its
// stdout and stderr on a pipe, whose read end it returns.
func (u *upgrading) start(state []byte, env, args []string) (*os.File, error) {
	memfd, err := reexec.SealedState(state)
	if err != nil {
		return nil, fmt.Errorf("respawn: upgrade: %w", err)
	}
	defer unix.Close(memfd)
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("respawn: upgrade: %w", err)
	}
	defer w.Close()
	argv := append([]string{u.bin, FlagUpgradeCheck + "=" + strconv.Itoa(marshal.Version),
		reexec.FlagStateFD + "=" + strconv.Itoa(preflightStateFD)}, args...)
	u.pid, err = forkExec(u.bin, argv, &syscall.ProcAttr{
		Env: env, Files: []uintptr{0, w.Fd(), w.Fd(), uintptr(memfd)},
		Sys: &syscall.SysProcAttr{Setpgid: true},
	})
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("respawn: upgrade: cannot execute %s: %w", u.bin, err)
	}
	return r, nil
}

// watch runs on its own goroutine: it reads the check's answer until the
// check closes its output and is reaped, or preflightTimeout passes, and
// hands the outcome to the event loop. If the supervisor is shutting
// down, the loop has already cancelled the upgrade and takes nothing.
func (u *upgrading) watch(s *Supervisor, out *os.File) {
	deadline := time.Now().Add(preflightTimeout)
	_ = out.SetReadDeadline(deadline)
	read := make(chan struct{})
	go u.cutShort(out, read)
	b, timedOut := readBounded(out, 4096)
	close(read)
	out.Close()
	if timedOut && u.isReaped() {
		timedOut = false // cut short: the check had exited
	}
	if !timedOut {
		t := time.NewTimer(time.Until(deadline))
		select {
		case <-u.reaped:
		case <-t.C:
			timedOut = true
		}
		t.Stop()
	}
	s.Do(s.ctx, func(s *Supervisor) { s.preflightAnswered(u, b, timedOut) })
}

// cutShort ends the reading of the check's answer answerGrace after the
// reaper has collected the check, unless it ended before (read closed):
// what the check printed is in the pipe by then, and a process it left
// behind that holds the pipe open must not hold the answer up until
// preflightTimeout.
func (u *upgrading) cutShort(out *os.File, read <-chan struct{}) {
	select {
	case <-u.reaped:
		_ = out.SetReadDeadline(time.Now().Add(answerGrace))
	case <-read:
	}
}

func (u *upgrading) isReaped() bool {
	select {
	case <-u.reaped:
		return true
	default:
		return false
	}
}

// preflightAnswered is the watcher's report, on the loop. A check that
// did not answer in time is killed by pid: it is not reaped yet, so the
// pid is still its own.
func (s *Supervisor) preflightAnswered(u *upgrading, out []byte, timedOut bool) {
	if u.answered {
		return // cancelled meanwhile
	}
	u.answered, u.out, u.timedOut = true, out, timedOut
	if timedOut {
		u.kill()
	}
	s.upgradeStep(u)
}

// preflightReaped is the reaper's hook: it reports whether pid was the
// pre-flight check, which is then collected as such, never taken for a
// server or an orphan.
func (s *Supervisor) preflightReaped(pid int, ws syscall.WaitStatus) bool {
	u := s.upgrade
	if u == nil || u.pid != pid {
		return false
	}
	u.pid, u.status = 0, ws
	// Whatever the check left in its group goes with it. The group's id
	// is the check's pid, held by any member left; with none left, kill
	// finds no group (pids come back only after the counter wraps).
	_ = unix.Kill(-pid, unix.SIGKILL)
	close(u.reaped)
	s.upgradeStep(u)
	return true
}

// upgradeStep goes on once the check has both answered and been reaped:
// the exec, with a fresh snapshot, or the refusal.
func (s *Supervisor) upgradeStep(u *upgrading) {
	if !u.answered || u.pid != 0 {
		return
	}
	if s.upgrade == u {
		s.upgrade = nil
	}
	if u.err != nil {
		return // cancelled: the waiters were told
	}
	err := u.verdict()
	if err == nil {
		err = u.unchanged()
	}
	if err == nil {
		err = s.execUpgrade() // returns only if the exec failed
	}
	s.upgradeDone(u, err)
}

// cancelUpgrade ends an upgrade whose check is still running, because
// the supervisor is shutting down: the check is killed by pid (the
// reaper collects it), and the waiters are told.
func (s *Supervisor) cancelUpgrade() {
	u := s.upgrade
	if u == nil || u.err != nil {
		return
	}
	u.err = errors.New("respawn: upgrade cancelled: shutting down")
	u.answered = true // whatever the check says now is not wanted
	u.kill()
	s.log.Info("upgrade cancelled: shutting down", "check_pid", u.pid)
	u.tell(u.err)
	s.upgradeStep(u)
}

// kill ends the check and whatever it started, by its process group: the
// check leads it and is not reaped yet, so neither id can be another's.
func (u *upgrading) kill() {
	if u.pid != 0 {
		_ = unix.Kill(-u.pid, unix.SIGKILL)
		_ = unix.Kill(u.pid, unix.SIGKILL)
	}
}

// verdict wants the check to have exited 0 with the "ok" line and the
// digest of the very snapshot it was given.
func (u *upgrading) verdict() error {
	msg := strings.TrimSpace(string(u.out))
	fail := func(why string) error {
		return fmt.Errorf("respawn: upgrade: %s failed its pre-flight check: %s", u.bin, why)
	}
	switch {
	case u.timedOut:
		return fmt.Errorf("respawn: upgrade: %s: pre-flight check timeout: no answer within %s; killed", u.bin, preflightTimeout)
	case !u.status.Exited() || u.status.ExitStatus() != 0 || !strings.Contains(msg, upgradeCheckOK):
		if msg == "" {
			msg = exitOf(u.status).String()
		}
		return fail(firstLine(msg))
	}
	got := answeredDigest(msg)
	switch {
	case got == "":
		return fail("it answered without the digest of the snapshot (not a binary that reads it, or one too old to prove it)")
	case got != u.digest:
		return fail(fmt.Sprintf("it read a different snapshot (digest %.20s..., want %.20s...)", got, u.digest))
	}
	return nil
}

// answeredDigest is the value of "digest=" on the check's "ok" line.
func answeredDigest(msg string) string {
	for _, line := range strings.Split(msg, "\n") {
		if !strings.Contains(line, upgradeCheckOK) {
			continue
		}
		for _, f := range strings.Fields(line) {
			if v, ok := strings.CutPrefix(f, digestKey); ok {
				return v
			}
		}
	}
	return ""
}

// binaryID is the binary at a path as stat shows it: which file, and
// when it was last written.
type binaryID struct {
	dev, ino     uint64
	size         int64
	mtime, ctime unix.Timespec
}

func statBinary(path string) (binaryID, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return binaryID{}, os.NewSyscallError("stat "+path, err)
	}
	return binaryID{st.Dev, st.Ino, st.Size, st.Mtim, st.Ctim}, nil
}

// unchanged wants the binary at the path the exec opens again to be the
// one the check ran: a binary replaced or rewritten while the check ran
// (a package upgrade under way) has proved nothing. What is left is the
// microseconds between this stat and the execve.
func (u *upgrading) unchanged() error {
	id, err := statBinary(u.bin)
	if err == nil && id != u.exe {
		err = errors.New("it changed on disk while its pre-flight check ran; upgrade again to check the new one")
	}
	if err != nil {
		return fmt.Errorf("respawn: upgrade: %s: %w", u.bin, err)
	}
	return nil
}
