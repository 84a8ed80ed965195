package respawn

import "path/filepath"

// maxName is the longest name: the command line refuses a longer @NAME.
const maxName = 64

// DefaultName is the name of a server given without @NAME: its program's
// base name made a name that respawnctl can pass unquoted and never
// mistakes for an index. Every byte other than an ASCII letter, digit,
// '-', '_' or '.' becomes '_' (a control character, a space, a byte of
// UTF-8), the result is cut to 64 bytes, and a result of digits only gets
// the prefix "_": /opt/x/2 is named "_2", so "2" stays the second server.
func DefaultName(program string) string {
	b := []byte(filepath.Base(program))
	if len(b) > maxName {
		b = b[:maxName]
	}
	for i, c := range b {
		if !nameByte(c) {
			b[i] = '_'
		}
	}
	if allDigits(string(b)) {
		b = append([]byte{'_'}, b[:min(len(b), maxName-1)]...)
	}
	return string(b)
}

// nameByte reports whether c may appear in a name.
func nameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
}

// allDigits reports whether s is a non-empty run of ASCII digits: a
// target that reads as an index.
func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
