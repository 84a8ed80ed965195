//go:build linux

package test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func init() {
	moreHelpers["outputs"] = outputs
	moreHelpers["count"] = countLines
	moreHelpers["flood"] = flood
	moreHelpers["forkwriter"] = forkWriter
}

// longLine is the 100 KiB line the "outputs" helper writes.
var longLine = strings.Repeat("0123456789abcdef", 100<<10/16)

// outputs writes to stdout "hello", invalid UTF-8, a 100 KiB line and
// "end", and "oops" to stderr, then sleeps.
func outputs(args []string) int {
	w := bufio.NewWriter(os.Stdout)
	fmt.Fprintln(w, "hello")
	fmt.Fprintln(w, "a\xffb\x01c")
	fmt.Fprintln(w, longLine)
	fmt.Fprintln(w, "end")
	if w.Flush() != nil {
		return 3
	}
	fmt.Fprintln(os.Stderr, "oops")
	return pause()
}

// countLines writes "PREFIX i" for i from 0 to N-1 to stdout, one write
// each, optionally DELAY apart, then sleeps. A failed write exits 3.
func countLines(args []string) int {
	n, _ := strconv.Atoi(args[1])
	var delay time.Duration
	if len(args) > 2 {
		delay, _ = time.ParseDuration(args[2])
	}
	for i := range n {
		if _, err := fmt.Fprintf(os.Stdout, "%s %d\n", args[0], i); err != nil {
			return 3
		}
		if delay > 0 {
			time.Sleep(delay)
		}
	}
	return pause()
}

// flood writes 200-byte lines to stdout and stderr for ever and appends
// "PID COUNT" to FILE every 1000 lines. A failed write appends the error
// and exits 3 (a Go program dies of SIGPIPE first on a broken stdout).
func flood(args []string) int {
	pad := strings.Repeat("x", 180)
	for i := 0; ; i++ {
		out := os.Stdout
		if i%2 == 1 {
			out = os.Stderr
		}
		if _, err := fmt.Fprintf(out, "flood %d %s\n", i, pad); err != nil {
			appendLine(args[0], "error "+err.Error())
			return 3
		}
		if i%1000 == 0 {
			appendLine(args[0], fmt.Sprintf("%d %d", os.Getpid(), i))
		}
		if i%100 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
}

// forkWriter starts "count child N DELAY" with its own stdout and stderr,
// writes the child's pid to FILE and exits 0.
func forkWriter(args []string) int {
	c := exec.Command(os.Args[0], "helper", "count", "child", args[1], "2ms")
	c.Stdout, c.Stderr = os.Stdout, os.Stderr
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if c.Start() != nil {
		return 98
	}
	appendLine(args[0], strconv.Itoa(c.Process.Pid))
	return 0
}

// captured is the lines of server name on stream that respawn wrote as
// JSON, in order, with partial pieces joined.
func (s *Sup) captured(name, stream string) []string {
	out, _ := s.capturedLines(name, stream)
	return out
}

// capturedLines is captured, and whether its last line is still waiting
// for its next piece.
func (s *Sup) capturedLines(name, stream string) (out []string, open bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cont := false
	for _, l := range s.logs {
		if l["server"] != name || l["stream"] != stream {
			continue
		}
		line, _ := l["line"].(string)
		if cont {
			out[len(out)-1] += line
		} else {
			out = append(out, line)
		}
		cont = l["partial"] == true
	}
	return out, cont
}

// waitCaptured waits until server name has written n whole lines on
// stream: a line split into pieces counts once its last piece is read.
func (s *Sup) waitCaptured(name, stream string, n int) []string {
	s.t.Helper()
	var got []string
	eventually(s.t, fmt.Sprintf("%d lines of %s on %s", n, name, stream), func() bool {
		var open bool
		got, open = s.capturedLines(name, stream)
		return len(got) > n || len(got) == n && !open
	})
	return got
}

// waitCapturedUpTo waits until name's captured lines on stream hold its
// last line, "PREFIX n-1", and returns them: after a live upgrade a line
// may come twice (README, Captured output), so a count of lines does not
// say that the last one is in.
func (s *Sup) waitCapturedUpTo(name, stream, prefix string, n int) []string {
	s.t.Helper()
	var got []string
	last := prefix + " " + strconv.Itoa(n-1)
	eventually(s.t, fmt.Sprintf("%q among the lines of %s on %s", last, name, stream), func() bool {
		got, _ = s.capturedLines(name, stream)
		return slices.Contains(got, last)
	})
	return got
}

// counted checks that lines are "PREFIX 0" ... "PREFIX n-1", in order.
func counted(lines []string, prefix string, n int) error {
	if len(lines) != n {
		return fmt.Errorf("%d lines, want %d", len(lines), n)
	}
	for i, l := range lines {
		if want := prefix + " " + strconv.Itoa(i); l != want {
			return fmt.Errorf("line %d is %q, want %q", i, l, want)
		}
	}
	return nil
}

// inOrder checks that lines hold "PREFIX 0" ... "PREFIX n-1" in order,
// none missing, where a line may come again right after a run of lines up
// to it: the log's carry across a live upgrade repeats the write that was
// under way at the exec rather than lose it.
func inOrder(lines []string, prefix string, n int) error {
	next := 0
	for i, l := range lines {
		k, err := strconv.Atoi(strings.TrimPrefix(l, prefix+" "))
		switch {
		case err != nil || !strings.HasPrefix(l, prefix+" "):
			return fmt.Errorf("line %d is %q", i, l)
		case k == next:
			next++
		case k > next:
			return fmt.Errorf("line %d is %q: %s %d missing", i, l, prefix, next)
		}
	}
	if next != n {
		return fmt.Errorf("%s %d missing", prefix, next)
	}
	return nil
}
