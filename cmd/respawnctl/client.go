package main

import (
	"bufio"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"respawn/control"
)

// maxAnswer bounds one answer line (a list of many servers is long).
const maxAnswer = 256 << 20

// ctl is one run of respawnctl against the socket at path.
type ctl struct {
	path     string
	json     bool
	timeout  time.Duration
	out, err io.Writer
}

// conn is a connection to the supervisor.
type conn struct {
	c *net.UnixConn
	r *bufio.Reader
}

// errNoAnswer is the connection ending before an answer.
var errNoAnswer = errors.New("the supervisor closed the connection without answering")

// dial connects to the supervisor. A full backlog is retried until the
// timeout.
func (c *ctl) dial() (*conn, error) {
	deadline := time.Now().Add(c.timeout)
	for {
		nc, err := net.DialTimeout("unix", c.path, c.timeout)
		if err == nil {
			uc := nc.(*net.UnixConn)
			return &conn{c: uc, r: bufio.NewReaderSize(io.LimitReader(uc, maxAnswer), 64<<10)}, nil
		}
		if !errors.Is(err, syscall.EAGAIN) || time.Now().After(deadline) {
			return nil, c.dialError(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// dialError says in one line why nobody answered at the socket.
func (c *ctl) dialError(err error) error {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return fmt.Errorf("cannot connect to %s: %w", c.path, err)
	}
	switch errno {
	case syscall.ENOENT, syscall.ECONNREFUSED, syscall.ENOTDIR:
		return fmt.Errorf("no supervisor at %s: %w", c.path, errno)
	case syscall.EACCES, syscall.EPERM:
		return fmt.Errorf("not allowed to connect to %s: %w", c.path, errno)
	}
	return fmt.Errorf("cannot connect to %s: %w", c.path, errno)
}

// call sends req and reads the answer, within the timeout.
func (c *ctl) call(cn *conn, req control.Request) (control.Answer, []byte, error) {
	_ = cn.c.SetDeadline(time.Now().Add(c.timeout))
	b, _ := json.Marshal(req)
	if _, err := cn.c.Write(append(b, '\n')); err != nil {
		// A refused peer may be cut off before it writes: its answer
		// is waiting all the same.
		if ans, raw, rerr := cn.read(); rerr == nil {
			return ans, raw, nil
		}
		return control.Answer{}, nil, fmt.Errorf("sending to %s: %w", c.path, err)
	}
	return cn.read()
}

// read reads one answer line.
func (cn *conn) read() (control.Answer, []byte, error) {
	line, err := cn.r.ReadBytes('\n')
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) {
			return control.Answer{}, nil, errNoAnswer
		}
		return control.Answer{}, nil, err
	}
	var ans control.Answer
	if err := json.Unmarshal(line, &ans); err != nil {
		return control.Answer{}, nil, fmt.Errorf("unreadable answer: %w", err)
	}
	return ans, line, nil
}

// once connects, sends req, and returns the answer.
func (c *ctl) once(req control.Request) (control.Answer, []byte, error) {
	cn, err := c.dial()
	if err != nil {
		return control.Answer{}, nil, err
	}
	defer cn.c.Close()
	return c.call(cn, req)
}

// verbOf is the command line's words for the requests it names otherwise.
var verbOf = map[string]string{"watch-reload": "watch --reload", "watched": "watch"}

// failed prints the error line for a failed answer and returns exitFail.
func (c *ctl) failed(req control.Request, ans control.Answer) int {
	what := cmp.Or(verbOf[req.Cmd], req.Cmd)
	if req.Target != "" {
		what += " " + req.Target
	}
	words := strings.TrimPrefix(ans.Error, req.Cmd+": ") // "upgrade: upgrade: ..." says it twice
	if ans.Code == control.CodeRefused {
		fmt.Fprintf(c.err, "respawnctl: refused by the supervisor at %s: %s\n", c.path, esc(words))
	} else {
		fmt.Fprintf(c.err, "respawnctl: %s: %s\n", esc(what), esc(words))
	}
	return exitFail
}

// fail prints err as the one error line, escaped as every text that may
// hold the supervisor's words is, and returns exitFail.
func (c *ctl) fail(err error) int {
	fmt.Fprintf(c.err, "respawnctl: %s\n", esc(err.Error()))
	return exitFail
}

// unanswered words err, the failure to get req answered: a time limit
// by its flag, not as a socket's i/o timeout; and a restart or stop
// --wait whose answer did not come (its wait outlived --timeout, or a
// live upgrade closed the connection) is still under way.
func (c *ctl) unanswered(req control.Request, err error) error {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		err = fmt.Errorf("no answer within %s (--timeout)", c.timeout)
	case !errors.Is(err, errNoAnswer):
		return err
	}
	if waits(req) {
		return fmt.Errorf("%s %s: %w; it goes on in the supervisor: see respawnctl status %s", req.Cmd, req.Target, err, req.Target)
	}
	return err
}

// readOnly are the commands that change nothing, and so may be sent again.
var readOnly = map[string]bool{"list": true, "status": true, "dump": true, "watched": true}

// simple runs a command answered with one line. A command that changes
// nothing is sent again if its connection was closed before the answer,
// as a live upgrade's execve does to the connections it finds.
func (c *ctl) simple(req control.Request) int {
	ans, raw, err := c.once(req)
	for deadline := time.Now().Add(c.timeout); readOnly[req.Cmd] && errors.Is(err, errNoAnswer) && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
		ans, raw, err = c.once(req)
	}
	if err != nil {
		return c.fail(c.unanswered(req, err))
	}
	if c.json {
		c.out.Write(raw)
	}
	if !ans.OK {
		return c.failed(req, ans)
	}
	if !c.json {
		c.print(req, ans)
	}
	return exitOK
}
