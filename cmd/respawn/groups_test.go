package main

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseGroups(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []group
		err  string // a substring of the error; "" for success
	}{
		{
			name: "one group",
			args: []string{"{", "sleep", "10", "}"},
			want: []group{{argv: []string{"sleep", "10"}}},
		},
		{
			name: "two groups",
			args: []string{"{", "a", "}", "{", "b", "-x", "}"},
			want: []group{{argv: []string{"a"}}, {argv: []string{"b", "-x"}}},
		},
		{
			name: "nested braces are arguments of the server",
			args: []string{"{", "find", ".", "-exec", "echo", "{", "}", ";", "}", "{", "b", "}"},
			want: []group{{argv: []string{"find", ".", "-exec", "echo", "{", "}", ";"}}, {argv: []string{"b"}}},
		},
		{
			name: "deeply nested braces",
			args: []string{"{", "a", "{", "{", "x", "}", "}", "}"},
			want: []group{{argv: []string{"a", "{", "{", "x", "}", "}"}}},
		},
		{
			name: "a brace as the program",
			args: []string{"{", "{", "}", "}"},
			want: []group{{argv: []string{"{", "}"}}},
		},
		{
			name: "arguments with spaces and empty ones",
			args: []string{"{", "sh", "-c", "echo a b", "", "}"},
			want: []group{{argv: []string{"sh", "-c", "echo a b", ""}}},
		},
		{
			name: "@NAME names the server",
			args: []string{"{", "@web", "httpd", "-f", "}", "{", "db", "}"},
			want: []group{{name: "web", argv: []string{"httpd", "-f"}}, {argv: []string{"db"}}},
		},
		{
			name: "@ after the program is an argument",
			args: []string{"{", "@n", "prog", "@x", "}"},
			want: []group{{name: "n", argv: []string{"prog", "@x"}}},
		},
		{
			name: "name with dots, dashes and underscores",
			args: []string{"{", "@a.b-c_1", "prog", "}"},
			want: []group{{name: "a.b-c_1", argv: []string{"prog"}}},
		},
		{name: "no group", args: nil, err: "no server given"},
		{name: "no group, empty list", args: []string{}, err: "no server given"},
		{name: "empty group", args: []string{"{", "}"}, err: "server 1: empty group"},
		{name: "second group empty", args: []string{"{", "a", "}", "{", "}"}, err: "server 2: empty group"},
		{name: "named empty group", args: []string{"{", "@web", "}"}, err: "server 1: empty group"},
		{name: "empty program name", args: []string{"{", "", "x", "}"}, err: "server 1: empty program name"},
		{name: "unterminated", args: []string{"{", "a"}, err: "server 1: unterminated group"},
		{name: "unterminated by nesting", args: []string{"{", "a", "{", "}"}, err: "server 1: unterminated group"},
		{name: "unterminated second", args: []string{"{", "a", "}", "{"}, err: "server 2: unterminated group"},
		{name: "stray close", args: []string{"}"}, err: "stray '}' at argument 1"},
		{name: "stray close after group", args: []string{"{", "a", "}", "}"}, err: "stray '}' at argument 4"},
		{name: "word outside a group", args: []string{"sleep", "10"}, err: `argument "sleep" is outside any { } group`},
		{name: "word between groups", args: []string{"{", "a", "}", "x", "{", "b", "}"}, err: `argument "x" is outside`},
		{name: "word with a newline outside", args: []string{"a\nb"}, err: `argument "a\nb" is outside`},
		{name: "bare @", args: []string{"{", "@", "a", "}"}, err: "must be 1 to 64 characters"},
		{name: "name too long", args: []string{"{", "@" + strings.Repeat("n", 65), "a", "}"}, err: "must be 1 to 64 characters"},
		{name: "name of 64 is fine", args: []string{"{", "@" + strings.Repeat("n", 64), "a", "}"},
			want: []group{{name: strings.Repeat("n", 64), argv: []string{"a"}}}},
		{name: "name with a slash", args: []string{"{", "@a/b", "a", "}"}, err: "only letters, digits"},
		{name: "name with a space", args: []string{"{", "@a b", "a", "}"}, err: "only letters, digits"},
		{name: "numeric name", args: []string{"{", "@12", "a", "}"}, err: "would read as an index"},
		{name: "negative numeric name", args: []string{"{", "@-3", "a", "}"}, err: "would read as an index"},
		{name: "numeric name with leading zeros", args: []string{"{", "@007", "a", "}"}, err: "would read as an index"},
		{name: "numeric name too big for an int", args: []string{"{", "@" + strings.Repeat("9", 20), "a", "}"}, err: "would read as an index"},
		{name: "negative numeric name too big for an int", args: []string{"{", "@-" + strings.Repeat("9", 20), "a", "}"}, err: "would read as an index"},
		{name: "name with a newline", args: []string{"{", "@a\n[2] x", "a", "}"}, err: "only letters, digits"},
		{name: "name with a tab", args: []string{"{", "@a\tb", "a", "}"}, err: "only letters, digits"},
		{name: "name with a control character", args: []string{"{", "@a\x1bb", "a", "}"}, err: "only letters, digits"},
		{name: "name with invalid UTF-8", args: []string{"{", "@a\xffb", "a", "}"}, err: "only letters, digits"},
		{name: "name with UTF-8 letters", args: []string{"{", "@caf\u00e9", "a", "}"}, err: "only letters, digits"},
		{name: "name that only starts with digits", args: []string{"{", "@2nd", "a", "}"},
			want: []group{{name: "2nd", argv: []string{"a"}}}},
		{name: "numeric program base name is no error", args: []string{"{", "/opt/x/2", "}"},
			want: []group{{argv: []string{"/opt/x/2"}}}},
		{name: "duplicate names", args: []string{"{", "@w", "a", "}", "{", "b", "}", "{", "@w", "c", "}"}, err: `servers 1 and 3 are both named "w"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseGroups(tt.args)
			if tt.err != "" {
				if err == nil {
					t.Fatalf("parseGroups(%q) = %v, want an error with %q", tt.args, got, tt.err)
				}
				checkOneLine(t, err)
				if !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %q does not contain %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseGroups(%q): %v", tt.args, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("parseGroups(%q) = %#v, want %#v", tt.args, got, tt.want)
			}
		})
	}
}

// The parser copies each argv: a caller that changes the argument list
// afterwards (or the supervisor that rewrites --initial-spawn) must not
// change another group.
func TestParseGroupsCopies(t *testing.T) {
	args := []string{"{", "a", "--initial-spawn", "}", "{", "b", "}"}
	got, err := parseGroups(args)
	if err != nil {
		t.Fatal(err)
	}
	got[0].argv[1] = "--respawn"
	if args[2] != "--initial-spawn" {
		t.Fatalf("changing a group's argv changed the arguments: %q", args)
	}
}

func checkOneLine(t *testing.T, err error) {
	t.Helper()
	if m := err.Error(); m == "" || strings.ContainsAny(m, "\r\n") {
		t.Fatalf("error %q is not one line", m)
	}
}
