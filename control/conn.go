package control

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"time"
)

// client is one connection being served.
type client struct {
	a   *acceptor
	c   *net.UnixConn
	r   *bufio.Reader
	log *slog.Logger // with the peer's uid and pid
}

// serveConn serves one connection: the peer is checked, then requests are
// read and answered in turn until the client leaves, stays silent past the
// timeout, sends a line over MaxRequest, or asks for a stream (events) or
// an upgrade.
func (a *acceptor) serveConn(c *net.UnixConn) {
	cl := &client{a: a, c: c, r: bufio.NewReaderSize(c, 4096), log: a.log}
	defer func() {
		if p := recover(); p != nil {
			a.log.Error("control: client handler panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		}
	}()
	if !cl.authorize() {
		return
	}
	for a.ctx.Err() == nil {
		line, ok := cl.next()
		if !ok {
			return
		}
		req, err := DecodeRequest(line)
		if err != nil {
			cl.log.Debug("control: bad request", "err", err)
			if cl.answer(Answer{Error: badRequest(err), Code: CodeBadRequest}) != nil {
				return
			}
			continue
		}
		if !cl.handle(req) {
			return
		}
	}
}

// authorize serves root and the supervisor's own uid; anyone else is
// answered CodeRefused and logged.
func (cl *client) authorize() bool {
	uid, pid, err := peerCred(cl.c)
	if err != nil {
		cl.log.Warn("control: peer credentials unknown, refused", "err", err)
		reject(cl.c, Answer{Error: "refused: peer credentials unknown", Code: CodeRefused})
		return false
	}
	cl.log = cl.log.With("uid", uid, "peer_pid", pid)
	if uid != 0 && uid != cl.a.uid {
		cl.log.Warn("control: peer refused")
		reject(cl.c, Answer{Error: fmt.Sprintf("refused: uid %d is not served (only root and uid %d)", uid, cl.a.uid), Code: CodeRefused})
		return false
	}
	return true
}

var errLineTooLong = errors.New("line too long")

// next reads the next request line. A client that leaves, sends too much
// or stays silent past the timeout gets its answer here and ok is false.
func (cl *client) next() (line []byte, ok bool) {
	_ = cl.c.SetReadDeadline(time.Now().Add(cl.a.timeout))
	line, err := readLine(cl.r, MaxRequest)
	switch {
	case err == nil:
		return line, true
	case errors.Is(err, errLineTooLong):
		cl.log.Info("control: request too long, closing", "max", MaxRequest)
		_ = cl.answer(Answer{Error: fmt.Sprintf("request over %d bytes", MaxRequest), Code: CodeTooLong})
	case errors.Is(err, os.ErrDeadlineExceeded) && cl.a.ctx.Err() == nil:
		cl.log.Debug("control: client silent, closing", "timeout", cl.a.timeout.String())
		_ = cl.answer(Answer{Error: fmt.Sprintf("timeout: no complete request within %s", cl.a.timeout), Code: CodeTimeout})
	case errors.Is(err, io.EOF), errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, net.ErrClosed):
	default:
		cl.log.Debug("control: read failed", "err", err)
	}
	return nil, false
}

// readLine reads one line of at most max bytes, its newline (and a
// carriage return before it) dropped. A last line without a newline
// counts if the client then shuts its side down.
func readLine(r *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	for {
		frag, err := r.ReadSlice('\n')
		n := len(line) + len(frag)
		if err == nil {
			n-- // the newline
		}
		if n > max {
			return nil, errLineTooLong
		}
		line = append(line, frag...)
		switch {
		case err == nil:
			line = bytes.TrimSuffix(line[:len(line)-1], []byte{'\r'})
			return line, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(line) > 0:
			return line, nil
		}
		return nil, err
	}
}

// answer writes one answer line.
func (cl *client) answer(ans Answer) error {
	return cl.write(encode(ans))
}

func (cl *client) write(b []byte) error {
	_ = cl.c.SetWriteDeadline(time.Now().Add(stallTimeout))
	_, err := cl.c.Write(b)
	return err
}

// encode is ans as one line. An Answer always encodes.
func encode(ans any) []byte {
	b, err := json.Marshal(ans)
	if err != nil {
		b, _ = json.Marshal(Answer{Error: "control: answer not encoded: " + err.Error(), Code: CodeFailed})
	}
	return append(b, '\n')
}
