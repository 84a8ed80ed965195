package respawn

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

func TestParseEnvFile(t *testing.T) {
	tests := []struct {
		name, text string
		want       []string
	}{
		{name: "plain", text: "A=1\nB=two words\n", want: []string{"A=1", "B=two words"}},
		{name: "comments and blanks", text: "# a comment\n\n   \n  # indented\nA=1\n", want: []string{"A=1"}},
		{name: "export", text: "export A=1\nexport\tB=2\nexport=3\n", want: []string{"A=1", "B=2", "export=3"}},
		{name: "blanks around", text: "  A=  1  \r\n", want: []string{"A=1"}},
		{name: "empty value", text: "A=\nB=''\nC=\"\"\n", want: []string{"A=", "B=", "C="}},
		{name: "single quotes literal", text: `A='x \n $B "y"'` + "\n", want: []string{`A=x \n $B "y"`}},
		{name: "double quote escapes", text: `A="a\"b\\c\nd\te\$f\qg"`, want: []string{"A=a\"b\\c\nd\te$f\\qg"}},
		{name: "hash inside a value", text: "A=x#y\nB='#'\n", want: []string{"A=x#y", "B=#"}},
		{name: "equals in value", text: "A=b=c\n", want: []string{"A=b=c"}},
		{name: "no final newline", text: "A=1", want: []string{"A=1"}},
		{name: "repeated name kept in order", text: "A=1\nA=2\n", want: []string{"A=1", "A=2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseEnvFile([]byte(tt.text))
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestParseEnvFileRefused(t *testing.T) {
	tests := []struct{ name, text, err string }{
		{name: "no equals", text: "A\n", err: "line 1: want KEY=VALUE"},
		{name: "bad name", text: "# ok\n1A=x\n", err: "line 2: want KEY=VALUE"},
		{name: "space before equals", text: "A =x\n", err: "want KEY=VALUE"},
		{name: "dash in name", text: "A-B=x\n", err: "want KEY=VALUE"},
		{name: "unterminated", text: "A=\"x\n", err: "unterminated quote"},
		{name: "quote spanning lines", text: "A='x\ny'\n", err: "line 1: unterminated quote"},
		{name: "text after quote", text: "A='x' y\n", err: "text after the closing quote"},
		{name: "escaped closing quote", text: `A="x\"` + "\n", err: "unterminated quote"},
		{name: "NUL", text: "A=x\x00y\n", err: "NUL"},
		{name: "too many lines", text: strings.Repeat("\n", MaxEnvLines+1), err: "more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseEnvFile([]byte(tt.text))
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("got %q, %v; want an error with %q", got, err, tt.err)
			}
		})
	}
}

// ReadEnvFile refuses what is not a small regular file, without blocking
// on a FIFO that has no writer.
func TestReadEnvFileRefused(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, []byte("A="+strings.Repeat("x", MaxEnvFile)), 0o644); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, path, err string }{
		{name: "missing", path: filepath.Join(dir, "none"), err: "env file " + dir + "/none: no such file or directory"},
		{name: "directory", path: dir, err: "not a regular file"},
		{name: "fifo", path: fifo, err: "not a regular file"},
		{name: "too big", path: big, err: "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadEnvFile(tt.path)
			if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.HasPrefix(err.Error(), "respawn: env file ") {
				t.Errorf("got %v, want an error with %q", err, tt.err)
			}
		})
	}
}

func TestServerEnv(t *testing.T) {
	f := filepath.Join(t.TempDir(), "env")
	if err := os.WriteFile(f, []byte("B=file\nC=file\nGONE=back\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	st := Settings{UnsetEnv: []string{"GONE", "NOTSET"}, EnvFiles: []string{f}, Env: []string{"C=flag", "D=flag"}}
	got, err := serverEnv([]string{"A=base", "B=base", "GONE=base"}, &st)
	want := []string{"A=base", "B=file", "C=flag", "GONE=back", "D=flag"}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("got %q, %v; want %q", got, err, want)
	}
}

// FuzzParseEnvFile: any input is parsed or refused without a panic, and
// every variable parsed is a valid KEY=VALUE without a NUL byte.
func FuzzParseEnvFile(f *testing.F) {
	for _, s := range []string{"A=1\n", "# c\nexport B='x y'\n", `C="a\"b\n"`, "D=\"x", "=", "export\n", "A=1\r\nB=2"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		env, err := ParseEnvFile(b)
		if err != nil {
			return
		}
		for _, kv := range env {
			k, _, ok := strings.Cut(kv, "=")
			if !ok || !EnvKey(k) || strings.IndexByte(kv, 0) >= 0 {
				t.Fatalf("parsed %q from %q", kv, b)
			}
		}
	})
}
