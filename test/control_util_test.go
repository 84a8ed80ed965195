//go:build linux

package test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"respawn/control"
	"respawn/respawn"
)

// startCtl runs respawn as start does, with its control socket in a new
// directory, and waits until the control task serves it.
func startCtl(t *testing.T, args ...string) (*Sup, string) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "ctl.sock")
	s := start(t, append([]string{"--control=" + sock}, args...)...)
	t.Cleanup(func() { stopIfFailed(s) })
	s.waitLog(1, msg("ALIVE", "task", "control"))
	return s, sock
}

// stopIfFailed ends respawn the regular way when a test failed before it
// did, so that its servers go with it (the harness's SIGKILL would leave
// them, and their hold on respawn's output).
func stopIfFailed(s *Sup) {
	if !s.t.Failed() || s.exited() {
		return
	}
	_ = unix.Kill(s.Pid, unix.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
	}
}

// ctl runs respawnctl --socket sock ARGS and returns its output and exit
// status.
func ctl(t *testing.T, sock string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return ctlCmd(t, exec.Command(respawnctlBin, append([]string{"--socket", sock}, args...)...))
}

func ctlCmd(t *testing.T, cmd *exec.Cmd) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("respawnctl: %v", err)
	}
	return o.String(), e.String(), cmd.ProcessState.ExitCode()
}

// ctlOK runs respawnctl and fails the test unless it exits 0 and says
// nothing on stderr.
func ctlOK(t *testing.T, sock string, args ...string) string {
	t.Helper()
	out, errOut, code := ctl(t, sock, args...)
	if code != 0 || errOut != "" {
		t.Fatalf("respawnctl %s: exit %d, stderr %q", strings.Join(args, " "), code, errOut)
	}
	return out
}

// ctlFails runs respawnctl, wants exit status 1 and one line on stderr
// containing want, and returns that line.
func ctlFails(t *testing.T, sock, want string, args ...string) string {
	t.Helper()
	out, errOut, code := ctl(t, sock, args...)
	if code != 1 || strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "respawnctl: ") || !strings.Contains(errOut, want) {
		t.Fatalf("respawnctl %s: exit %d, stdout %q, stderr %q; want exit 1 and one line saying %q",
			strings.Join(args, " "), code, out, errOut, want)
	}
	return errOut
}

// ctlJSON runs respawnctl --json and decodes its one answer line.
func ctlJSON(t *testing.T, sock string, args ...string) (control.Answer, int) {
	t.Helper()
	out, _, code := ctl(t, sock, append([]string{"--json"}, args...)...)
	var ans control.Answer
	if strings.Count(out, "\n") != 1 || json.Unmarshal([]byte(out), &ans) != nil {
		t.Fatalf("respawnctl --json %s: not one JSON line: %q", strings.Join(args, " "), out)
	}
	return ans, code
}

// list returns the records by name, from respawnctl --json list.
func list(t *testing.T, sock string) map[string]respawn.Info {
	t.Helper()
	ans, code := ctlJSON(t, sock, "list")
	if code != 0 || !ans.OK {
		t.Fatalf("list: exit %d, %+v", code, ans)
	}
	m := map[string]respawn.Info{}
	for _, in := range ans.List {
		m[in.Name] = in
	}
	return m
}

// raw is a connection to the control socket that speaks the protocol by
// hand.
type raw struct {
	t *testing.T
	c *net.UnixConn
	r *bufio.Reader
}

func dialRaw(t *testing.T, sock string) *raw {
	t.Helper()
	c, err := net.DialTimeout("unix", sock, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", sock, err)
	}
	t.Cleanup(func() { c.Close() })
	return &raw{t: t, c: c.(*net.UnixConn), r: bufio.NewReaderSize(c, 1<<20)}
}

// send writes s as it is.
func (r *raw) send(s string) {
	r.t.Helper()
	_ = r.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := r.c.Write([]byte(s)); err != nil {
		r.t.Fatalf("send: %v", err)
	}
}

// line reads the next line, waiting at most 10 s.
func (r *raw) line() ([]byte, error) {
	_ = r.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	return r.r.ReadBytes('\n')
}

// answer reads the next line as an answer.
func (r *raw) answer() control.Answer {
	r.t.Helper()
	b, err := r.line()
	if err != nil {
		r.t.Fatalf("reading an answer: %v (got %q)", err, b)
	}
	var ans control.Answer
	if err := json.Unmarshal(b, &ans); err != nil {
		r.t.Fatalf("answer %q: %v", b, err)
	}
	return ans
}

// ask sends one request line and reads its answer.
func (r *raw) ask(req string) control.Answer {
	r.t.Helper()
	r.send(req + "\n")
	return r.answer()
}

// closed checks that the server closed the connection.
func (r *raw) closed() {
	r.t.Helper()
	b, err := r.line()
	if err == nil || len(b) > 0 {
		r.t.Fatalf("connection still open: read %q, %v", b, err)
	}
}

// wantErr checks a failed answer's code.
func wantErr(t *testing.T, what string, ans control.Answer, code string) {
	t.Helper()
	if ans.OK || ans.Code != code || ans.Error == "" {
		t.Fatalf("%s: answer %+v, want a failure with code %q", what, ans, code)
	}
}
