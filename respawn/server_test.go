package respawn

import (
	"context"
	"os/exec"
	"reflect"
	"strings"
	"testing"
)

func TestQuote(t *testing.T) {
	tests := []struct {
		name string
		argv []string
		want string
	}{
		{name: "nothing", argv: nil, want: ""},
		{name: "plain words", argv: []string{"/usr/bin/sleep", "10"}, want: "/usr/bin/sleep 10"},
		{name: "flags and safe punctuation", argv: []string{"srv", "--port=80", "-a,b", "x+y@h:1%"}, want: "srv --port=80 -a,b x+y@h:1%"},
		{name: "empty argument", argv: []string{"echo", ""}, want: "echo ''"},
		{name: "space", argv: []string{"sh", "-c", "echo a b"}, want: "sh -c 'echo a b'"},
		{name: "single quote", argv: []string{"echo", "it's"}, want: `echo 'it'\''s'`},
		{name: "shell metacharacters", argv: []string{"a", "$HOME", "*", "a;b", "`x`", "{", "}"}, want: `a '$HOME' '*' 'a;b' '` + "`x`" + `' '{' '}'`},
		{name: "newline and tab", argv: []string{"a", "x\ny\tz"}, want: `a $'x\ny\tz'`},
		{name: "forged dump line", argv: []string{"sleep", "\n[2] fake pid=1 state=ALIVE"}, want: `sleep $'\n[2] fake pid=1 state=ALIVE'`},
		{name: "escape, quote and backslash with a control character", argv: []string{"\x1b[31m'\\"}, want: `$'\x1b[31m\'\\'`},
		{name: "invalid UTF-8", argv: []string{"a\xffb"}, want: `$'a\xffb'`},
		{name: "right-to-left override", argv: []string{"a\u202eb"}, want: `$'a\xe2\x80\xaeb'`},
		{name: "printable UTF-8 kept in a control word", argv: []string{"é\r"}, want: `$'é\x0d'`},
		{name: "non-ASCII", argv: []string{"naïve"}, want: "'naïve'"},
		{name: "backslash and double quote", argv: []string{`a\b"c`}, want: `'a\b"c'`},
		{name: "first word with =, not an assignment", argv: []string{"A=b", "x=y"}, want: "'A=b' x=y"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Quote(tt.argv); got != tt.want {
				t.Errorf("Quote(%q) = %q, want %q", tt.argv, got, tt.want)
			}
		})
	}
}

// A shell splits Quote's output back into the same words. bash stands
// for the shells that read $'...' (POSIX.1-2024); dash does not yet.
func TestQuoteShellRoundTrip(t *testing.T) {
	sh, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash:", err)
	}
	argv := []string{"plain", "", " ", "it's", `'"'`, "$x", "${x}", "a\nb", "\\", "*", "?", "[a]", "~", "#c", "a=b",
		"&", "|", ";", "<", ">", "(", ")", "{", "}", "!", "naïve", "\t", "--flag=v a l", "'", "''",
		"\x1b[0m", "a\xff\xfeb", "\u202e", "\r\n'\\", "\x7f", "\n[2] fake pid=1 state=ALIVE"}
	script := `printf '%s\0' ` + Quote(argv)
	out, err := exec.Command(sh, "-c", script).Output()
	if err != nil {
		t.Fatalf("sh -c %q: %v", script, err)
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	if !reflect.DeepEqual(got, argv) {
		t.Fatalf("sh split %q into %q, want %q", Quote(argv), got, argv)
	}
}

func TestCommandLine(t *testing.T) {
	srv := &Server{Name: "web", Argv: []string{"httpd", "-f", "a b"}}
	if got, want := srv.CommandLine(), "httpd -f 'a b'"; got != want {
		t.Errorf("server CommandLine = %q, want %q", got, want)
	}
	task := &Server{Name: "watchdog", task: func(context.Context) error { return nil }}
	if got, want := task.CommandLine(), "task watchdog"; got != want {
		t.Errorf("task CommandLine = %q, want %q", got, want)
	}
	if srv.IsTask() || !task.IsTask() {
		t.Error("IsTask is wrong")
	}
}

// The words a POSIX sh (dash) reads, those without a control character,
// keep plain single quotes.
func TestQuotePOSIXShellRoundTrip(t *testing.T) {
	argv := []string{"plain", "", " ", "it's", `'"'`, "$x", "\\", "*", "naïve", "--flag=v a l", "''"}
	out, err := exec.Command("/bin/sh", "-c", `printf '%s\0' `+Quote(argv)).Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00"); !reflect.DeepEqual(got, argv) {
		t.Fatalf("sh split %q into %q, want %q", Quote(argv), got, argv)
	}
}
