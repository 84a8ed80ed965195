package respawn

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"syscall"
)

// The bounds of an env-file: a file is read whole at every start of its
// server, so it must stay small.
const (
	MaxEnvFile  = 1 << 20 // bytes
	MaxEnvLines = 10000   // lines, comments and blank ones included
)

// ReadEnvFile reads and parses the env-file at path (see ParseEnvFile). It
// refuses anything but a regular file of at most MaxEnvFile bytes; it opens
// with O_NONBLOCK so that a FIFO put there cannot hang the caller.
func ReadEnvFile(path string) ([]string, error) {
	env, err := readEnvFile(path)
	if err != nil {
		return nil, fmt.Errorf("respawn: %w", err)
	}
	return env, nil
}

// readEnvFile is ReadEnvFile with errors that say "env file PATH: ...".
func readEnvFile(path string) ([]string, error) {
	b, err := readEnvBytes(path, MaxEnvFile)
	if err == nil {
		var env []string
		if env, err = ParseEnvFile(b); err == nil {
			return env, nil
		}
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err // the path is said once
	}
	return nil, fmt.Errorf("env file %s: %w", path, err)
}

// readEnvBytes reads the regular file at path, refusing one over max bytes.
func readEnvBytes(path string, max int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("larger than %d bytes", max)
	}
	return b, nil
}

// ParseEnvFile parses the text of an env-file into KEY=VALUE strings, in
// the order given. Each line is blank, a comment (its first non-blank
// character is '#'), or KEY=VALUE, optionally preceded by "export ". KEY
// is a shell variable name. VALUE is taken as written (surrounding blanks
// dropped), or quoted whole: in single quotes literally, in double quotes
// with the escapes \" \\ \n \t \$ (any other backslash stays as written).
// Nothing is expanded; a quoted value ends on its line. At most
// MaxEnvLines lines, no NUL byte anywhere.
func ParseEnvFile(b []byte) ([]string, error) {
	if bytes.IndexByte(b, 0) >= 0 {
		return nil, errors.New("a NUL byte")
	}
	var env []string
	for n := 1; len(b) > 0; n++ {
		if n > MaxEnvLines {
			return nil, fmt.Errorf("more than %d lines", MaxEnvLines)
		}
		line, rest, _ := bytes.Cut(b, []byte{'\n'})
		b = rest
		kv, err := parseEnvLine(string(line))
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if kv != "" {
			env = append(env, kv)
		}
	}
	return env, nil
}

// parseEnvLine parses one line; "" is a blank or comment line.
func parseEnvLine(line string) (string, error) {
	line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
	if line == "" || line[0] == '#' {
		return "", nil
	}
	if rest, ok := strings.CutPrefix(line, "export"); ok && rest != "" && (rest[0] == ' ' || rest[0] == '\t') {
		line = strings.TrimLeft(rest, " \t")
	}
	key, val, ok := strings.Cut(line, "=")
	if !ok || !EnvKey(key) {
		return "", errors.New("want KEY=VALUE, KEY a variable name")
	}
	val, err := unquote(strings.TrimSpace(val))
	if err != nil {
		return "", err
	}
	return key + "=" + val, nil
}

// unquote returns v without its quotes, as ParseEnvFile describes.
func unquote(v string) (string, error) {
	if v == "" || v[0] != '"' && v[0] != '\'' {
		return v, nil
	}
	q := v[0]
	end := closingQuote(v, q)
	if end < 0 {
		return "", errors.New("unterminated quote")
	}
	if strings.TrimSpace(v[end+1:]) != "" {
		return "", errors.New("text after the closing quote")
	}
	if q == '\'' {
		return v[1:end], nil
	}
	return unescape(v[1:end]), nil
}

// closingQuote is the index of the quote q that closes v, or -1.
func closingQuote(v string, q byte) int {
	for i := 1; i < len(v); i++ {
		switch {
		case v[i] == '\\' && q == '"':
			i++
		case v[i] == q:
			return i
		}
	}
	return -1
}

func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch s[i] {
		case '"', '\\', '$':
			b.WriteByte(s[i])
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		default:
			b.WriteByte('\\')
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// EnvKey reports whether k is a name a shell takes for a variable.
func EnvKey(k string) bool {
	if k == "" || k[0] >= '0' && k[0] <= '9' {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
