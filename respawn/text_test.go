package respawn

import (
	"strings"
	"testing"
)

func TestEscape(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{name: "plain", in: "web", want: "web"},
		{name: "spaces and punctuation kept", in: `exit 1 (a "b" \c)`, want: `exit 1 (a "b" \c)`},
		{name: "printable UTF-8 kept", in: "café", want: "café"},
		{name: "empty", in: "", want: ""},
		{name: "newline", in: "a\n[2] fake", want: `"a\n[2] fake"`},
		{name: "carriage return", in: "a\rb", want: `"a\rb"`},
		{name: "tab", in: "a\tb", want: `"a\tb"`},
		{name: "escape sequence", in: "\x1b[2J", want: `"\x1b[2J"`},
		{name: "delete", in: "\x7f", want: `"\x7f"`},
		{name: "invalid UTF-8", in: "a\xffb", want: `"a\xffb"`},
		{name: "right-to-left override", in: "a\u202eb", want: `"a\u202eb"`},
		{name: "quote and backslash escaped once quoted", in: "\"\\\n", want: `"\"\\\n"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Escape(tt.in); got != tt.want {
				t.Errorf("Escape(%q) = %s, want %s", tt.in, got, tt.want)
			}
			if got := string(appendEscaped([]byte("x"), tt.in)); got != "x"+tt.want {
				t.Errorf("appendEscaped(%q) = %s, want x%s", tt.in, got, tt.want)
			}
			if !printable(Escape(tt.in)) || !printable(Quote([]string{tt.in})) {
				t.Errorf("%q: Escape %q or Quote %q is not printable", tt.in, Escape(tt.in), Quote([]string{tt.in}))
			}
		})
	}
}

// FuzzEscape: whatever bytes a name or argv holds, Escape and Quote give
// one line of printable text.
func FuzzEscape(f *testing.F) {
	for _, s := range []string{"web", "a\nb", "\xff", "\u202e", "'\\"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, out := range []string{Escape(s), Quote([]string{s, s})} {
			if !printable(out) || strings.ContainsAny(out, "\n\r") {
				t.Fatalf("%q shown as %q", s, out)
			}
		}
	})
}
