package respawn

import (
	"strconv"
	"unicode"
	"unicode/utf8"
)

// A name, a command line or an exit text may hold any byte a program's
// argv or an older snapshot held: a newline there would forge a line of
// the dump or of respawnctl's tables. Everything shown as text goes
// through Escape or Quote, which write control characters, other
// non-printing runes and invalid UTF-8 as escapes, so that one record is
// always one line.

// Escape returns s if every rune of it is valid, printable UTF-8 (a space
// is; a tab is not), and otherwise s as a Go string literal, in double
// quotes with \n, \x1b, \u202e and \xff escapes.
func Escape(s string) string {
	if printable(s) {
		return s
	}
	return strconv.Quote(s)
}

// appendEscaped appends Escape(s) to b.
func appendEscaped(b []byte, s string) []byte {
	if printable(s) {
		return append(b, s...)
	}
	return strconv.AppendQuote(b, s)
}

// printable reports whether s is valid UTF-8 of printable runes only.
func printable(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// appendDollarQuoted appends a as a $'...' word (ANSI-C quoting, in
// POSIX.1-2024, bash, zsh, ksh and busybox sh): backslash and quote are
// escaped, as is every byte of a control character, of another
// non-printing rune or of invalid UTF-8, as \n, \t or \xHH; the rest is
// kept. The shell reads it back as the same bytes.
func appendDollarQuoted(b []byte, a string) []byte {
	b = append(b, "$'"...)
	for i := 0; i < len(a); {
		r, n := utf8.DecodeRuneInString(a[i:])
		switch {
		case r == '\\' || r == '\'':
			b = append(b, '\\', byte(r))
		case r == '\n':
			b = append(b, `\n`...)
		case r == '\t':
			b = append(b, `\t`...)
		case r == utf8.RuneError || !unicode.IsPrint(r):
			for _, c := range []byte(a[i : i+n]) {
				b = append(b, '\\', 'x', hex[c>>4], hex[c&15])
			}
		default:
			b = append(b, a[i:i+n]...)
		}
		i += n
	}
	return append(b, '\'')
}

const hex = "0123456789abcdef"
