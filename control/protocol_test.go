package control

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"respawn/respawn"
)

func TestDecodeRequest(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Request // with sig
		err  string  // a part of the error; "" for success
	}{
		{name: "list", in: `{"cmd":"list"}`, want: Request{Cmd: "list"}},
		{name: "spaces around", in: " \t{ \"cmd\" : \"dump\" } ", want: Request{Cmd: "dump"}},
		{name: "status by name", in: `{"cmd":"status","target":"web"}`, want: Request{Cmd: "status", Target: "web"}},
		{name: "status by index", in: `{"cmd":"status","target":"2"}`, want: Request{Cmd: "status", Target: "2"}},
		{name: "revive all", in: `{"cmd":"revive"}`, want: Request{Cmd: "revive"}},
		{name: "revive one", in: `{"cmd":"revive","target":"a"}`, want: Request{Cmd: "revive", Target: "a"}},
		{name: "signal name", in: `{"cmd":"signal","target":"web","signal":"HUP"}`, want: Request{Cmd: "signal", Target: "web", Signal: "HUP", sig: syscall.SIGHUP}},
		{name: "signal SIG name lower case", in: `{"cmd":"signal","target":"1","signal":"sigusr1"}`, want: Request{Cmd: "signal", Target: "1", Signal: "sigusr1", sig: syscall.SIGUSR1}},
		{name: "signal number", in: `{"cmd":"signal","target":"1","signal":"9"}`, want: Request{Cmd: "signal", Target: "1", Signal: "9", sig: syscall.SIGKILL}},
		{name: "signal realtime number", in: `{"cmd":"signal","target":"1","signal":"64"}`, want: Request{Cmd: "signal", Target: "1", Signal: "64", sig: syscall.Signal(64)}},
		{name: "events", in: `{"cmd":"events"}`, want: Request{Cmd: "events"}},
		{name: "upgrade", in: `{"cmd":"upgrade"}`, want: Request{Cmd: "upgrade"}},
		{name: "shutdown", in: `{"cmd":"shutdown"}`, want: Request{Cmd: "shutdown"}},
		{name: "restart", in: `{"cmd":"restart","target":"web"}`, want: Request{Cmd: "restart", Target: "web"}},
		{name: "reload", in: `{"cmd":"reload","target":"2"}`, want: Request{Cmd: "reload", Target: "2"}},
		{name: "stop and wait", in: `{"cmd":"stop","target":"web","wait":true}`, want: Request{Cmd: "stop", Target: "web", Wait: true}},
		{name: "events after", in: `{"cmd":"events","after":41}`, want: Request{Cmd: "events", After: ptr(uint64(41))}},
		{name: "events after 0", in: `{"cmd":"events","after":0}`, want: Request{Cmd: "events", After: ptr(uint64(0))}},
		{name: "wait where none is taken", in: `{"cmd":"restart","target":"web","wait":true}`, err: `restart takes no "wait"`},
		{name: "after where none is taken", in: `{"cmd":"list","after":3}`, err: `list takes no "after"`},
		{name: "negative after", in: `{"cmd":"events","after":-1}`, err: "cannot unmarshal"},
		{name: "wait not a bool", in: `{"cmd":"stop","target":"a","wait":"yes"}`, err: "cannot unmarshal"},
		{name: "restart without target", in: `{"cmd":"restart"}`, err: `restart needs a "target"`},
		{name: "shutdown with target", in: `{"cmd":"shutdown","target":"web"}`, err: `shutdown takes no "target"`},
		{name: "empty", in: ``, err: "EOF"},
		{name: "not json", in: `list`, err: "invalid character"},
		{name: "null", in: `null`, err: `no "cmd"`},
		{name: "array", in: `["list"]`, err: "cannot unmarshal"},
		{name: "string", in: `"list"`, err: "cannot unmarshal"},
		{name: "no cmd", in: `{}`, err: `no "cmd"`},
		{name: "unknown cmd", in: `{"cmd":"fly"}`, err: `unknown command "fly"`},
		{name: "cmd not a string", in: `{"cmd":1}`, err: "cannot unmarshal"},
		{name: "unknown field", in: `{"cmd":"list","taget":"x"}`, err: `unknown field "taget"`},
		{name: "two objects", in: `{"cmd":"list"}{"cmd":"list"}`, err: "data after"},
		{name: "trailing garbage", in: `{"cmd":"list"} x`, err: "data after"},
		{name: "truncated", in: `{"cmd":"list"`, err: "unexpected EOF"},
		{name: "target where none is taken", in: `{"cmd":"list","target":"x"}`, err: `list takes no "target"`},
		{name: "status without target", in: `{"cmd":"status"}`, err: `status needs a "target"`},
		{name: "stop without target", in: `{"cmd":"stop"}`, err: `stop needs a "target"`},
		{name: "signal without signal", in: `{"cmd":"signal","target":"1"}`, err: `signal needs a "signal"`},
		{name: "signal where none is taken", in: `{"cmd":"stop","target":"1","signal":"HUP"}`, err: `stop takes no "signal"`},
		{name: "unknown signal", in: `{"cmd":"signal","target":"1","signal":"FOO"}`, err: `unknown signal "FOO"`},
		{name: "signal zero", in: `{"cmd":"signal","target":"1","signal":"0"}`, err: "out of range"},
		{name: "signal too high", in: `{"cmd":"signal","target":"1","signal":"65"}`, err: "out of range"},
		{name: "negative signal", in: `{"cmd":"signal","target":"1","signal":"-9"}`, err: "out of range"},
		{name: "target too long", in: `{"cmd":"status","target":"` + strings.Repeat("a", MaxTarget+1) + `"}`, err: "at most 256 bytes"},
		{name: "watch rule", in: `{"cmd":"watch","rule":"exe:/usr/sbin/* (notify)"}`, want: Request{Cmd: "watch", Rule: "exe:/usr/sbin/* (notify)"}},
		{name: "watch pid", in: `{"cmd":"watch","rule":"4242"}`, want: Request{Cmd: "watch", Rule: "4242"}},
		{name: "unwatch rule", in: `{"cmd":"unwatch","rule":"name:redis-server"}`, want: Request{Cmd: "unwatch", Rule: "name:redis-server"}},
		{name: "unwatch pid", in: `{"cmd":"unwatch","rule":"4242"}`, want: Request{Cmd: "unwatch", Rule: "4242"}},
		{name: "watch-reload", in: `{"cmd":"watch-reload"}`, want: Request{Cmd: "watch-reload"}},
		{name: "watched", in: `{"cmd":"watched"}`, want: Request{Cmd: "watched"}},
		{name: "watch without rule", in: `{"cmd":"watch"}`, err: `watch needs a "rule"`},
		{name: "watch with target", in: `{"cmd":"watch","rule":"1","target":"web"}`, err: `watch takes no "target"`},
		{name: "rule where none is taken", in: `{"cmd":"watched","rule":"1"}`, err: `watched takes no "rule"`},
		{name: "watch bad glob", in: `{"cmd":"watch","rule":"exe:/usr/["}`, err: `rule: exe rule "/usr/[": bad glob`},
		{name: "watch bad regex", in: `{"cmd":"watch","rule":"regex:("}`, err: `rule: regex rule "(": missing closing )`},
		{name: "watch pid 0", in: `{"cmd":"watch","rule":"0"}`, err: "a pid is 1 or more"},
		{name: "unwatch pid 0 as given", in: `{"cmd":"unwatch","rule":"0"}`, want: Request{Cmd: "unwatch", Rule: "0"}},
		{name: "unwatch huge pid", in: `{"cmd":"unwatch","rule":"99999999999999999999"}`, err: "value out of range"},
		{name: "watch no kind", in: `{"cmd":"watch","rule":"/usr/bin/x"}`, err: "want KIND:PATTERN"},
		{name: "long unknown command clipped", in: `{"cmd":"` + strings.Repeat("x", 1000) + `"}`, err: "...\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeRequest([]byte(tt.in))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !errors.Is(err, ErrBadRequest) {
					t.Fatalf("DecodeRequest(%q) = %+v, %v; want an ErrBadRequest containing %q", tt.in, got, err, tt.err)
				}
				if len(err.Error()) > 300 {
					t.Errorf("error message of %d bytes", len(err.Error()))
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("DecodeRequest(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// An answer to a bad request says what was wrong in words, without the
// package's name or the code, which Code carries.
func TestBadRequestWords(t *testing.T) {
	_, err := DecodeRequest([]byte(`{"cmd":"fly"}`))
	if got := badRequest(err); got != `unknown command "fly"` {
		t.Fatalf("badRequest = %q", got)
	}
}

func TestDecodeRequestTooLong(t *testing.T) {
	line := `{"cmd":"list","target":"` + strings.Repeat("a", MaxRequest) + `"}`
	if _, err := DecodeRequest([]byte(line)); !errors.Is(err, ErrTooLong) {
		t.Fatalf("err = %v, want ErrTooLong", err)
	}
}

func TestParseSignal(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want syscall.Signal
	}{
		{name: "short", in: "TERM", want: syscall.SIGTERM},
		{name: "full", in: "SIGKILL", want: syscall.SIGKILL},
		{name: "lower", in: "usr2", want: syscall.SIGUSR2},
		{name: "mixed", in: "SigCont", want: syscall.SIGCONT},
		{name: "number", in: "15", want: syscall.SIGTERM},
		{name: "empty", in: ""},
		{name: "SIG alone", in: "SIG"},
		{name: "spaces", in: " HUP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSignal(tt.in)
			if got != tt.want || (err == nil) != (tt.want != 0) {
				t.Fatalf("ParseSignal(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestReadLine(t *testing.T) {
	const max = 10
	tests := []struct {
		name  string
		in    string
		lines []string
		err   error // after the lines
	}{
		{name: "one", in: "abc\n", lines: []string{"abc"}},
		{name: "crlf", in: "abc\r\n", lines: []string{"abc"}},
		{name: "two", in: "a\nb\n", lines: []string{"a", "b"}},
		{name: "last without newline", in: "a\nb", lines: []string{"a", "b"}},
		{name: "empty line", in: "\n", lines: []string{""}},
		{name: "exactly max", in: "0123456789\n", lines: []string{"0123456789"}},
		{name: "over max", in: "0123456789a\n", err: errLineTooLong},
		{name: "over max without newline", in: "0123456789a", err: errLineTooLong},
		{name: "over max after a good line", in: "ok\n0123456789abcdef", lines: []string{"ok"}, err: errLineTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The smallest buffer bufio allows, so that long lines come in
			// fragments.
			r := bufio.NewReaderSize(strings.NewReader(tt.in), 16)
			for _, want := range tt.lines {
				got, err := readLine(r, max)
				if err != nil || string(got) != want {
					t.Fatalf("readLine = %q, %v; want %q", got, err, want)
				}
			}
			want := tt.err
			if want == nil {
				want = io.EOF
			}
			if _, err := readLine(r, max); !errors.Is(err, want) {
				t.Fatalf("readLine at the end: %v, want %v", err, want)
			}
		})
	}
}

// Answers and stream lines decode back to what was encoded, and an
// answer is always one line.
func TestEncodeOneLine(t *testing.T) {
	n := 3
	for _, v := range []any{
		Answer{OK: true, Revived: &n},
		Answer{Error: "a\nb", Code: CodeFailed},
		Event{Index: 1, Name: "x\ny", From: "ALIVE", To: "DEAD", Pid: 7, Exit: "exit 1", Time: "t"},
		Dropped{Dropped: 5},
		Event{Name: "sleep", Pid: 9, Exit: "signal SIGKILL", Time: "t", Watch: "exit", Rule: "exe:/x\n"},
		Answer{OK: true, Watching: &Watching{Rules: []string{"pid:1"}, Watched: []respawn.WatchedInfo{{Pid: 1, Argv: []string{"a\nb"}}}}},
	} {
		b := encode(v)
		if strings.Count(string(b), "\n") != 1 || b[len(b)-1] != '\n' {
			t.Fatalf("encode(%+v) = %q: not one line", v, b)
		}
		var l StreamLine
		if err := json.Unmarshal(b, &l); err != nil {
			t.Fatal(err)
		}
	}
}
