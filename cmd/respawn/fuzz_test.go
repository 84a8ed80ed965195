package main

import (
	"reflect"
	"strings"
	"testing"
)

// FuzzParseGroups feeds parseGroups argument lists, one string with the
// arguments separated by NUL bytes (which no argument can hold). It must
// never panic; an error must be one line; a success must give non-empty
// groups, none named by a number, whose names and programs, written back
// as "{ [@NAME] -- ARGV... }", parse to the same names and programs.
func FuzzParseGroups(f *testing.F) {
	for _, args := range [][]string{
		{"{", "sleep", "10", "}"},
		{"{", "@web", "httpd", "-f", "}", "{", "db", "}"},
		{"{", "find", ".", "-exec", "echo", "{", "}", ";", "}"},
		{"{", "{", "}", "}"},
		{"{", "}"},
		{"{", "a"},
		{"}"},
		{"a"},
		{"{", "@", "a", "}"},
		{"{", "@1", "a", "}"},
		{"{", "@w", "a", "}", "{", "@w", "b", "}"},
		{"{", "", "}"},
		{"{", "@n", "}"},
		{"{", "a", "{", "}"},
		{"{", "@99999999999999999999", "a", "}"},
		{"{", "@web", "--stop-signal=QUIT", "--env=A=1", "--", "-x", "}"},
		{"{", "--nofile=1K:unlimited", "--umask=027", "--retries=0", "a", "}"},
		{"{", "--user=0", "--groups=", "--cwd=/", "a", "}"},
		{"{", "--kill-mode", "a", "}"},
	} {
		f.Add(strings.Join(args, "\x00"))
	}
	f.Fuzz(func(t *testing.T, in string) {
		args := strings.Split(in, "\x00")
		groups, err := parseGroups(args)
		if err != nil {
			if m := err.Error(); m == "" || strings.ContainsAny(m, "\r\n") {
				t.Fatalf("parseGroups(%q): error %q is not one line", args, m)
			}
			return
		}
		if len(groups) == 0 {
			t.Fatalf("parseGroups(%q): no groups and no error", args)
		}
		var again []string
		for i, g := range groups {
			if len(g.argv) == 0 || g.argv[0] == "" {
				t.Fatalf("parseGroups(%q): group %d has no program: %#v", args, i+1, g)
			}
			if d := strings.TrimLeft(g.name, "+-"); d != "" && strings.Trim(d, "0123456789") == "" && len(g.name)-len(d) <= 1 {
				t.Fatalf("parseGroups(%q): group %d named %q, which reads as an index", args, i+1, g.name)
			}
			again = append(again, "{")
			if g.name != "" {
				again = append(again, "@"+g.name)
			}
			again = append(again, "--")
			again = append(again, g.argv...)
			again = append(again, "}")
		}
		groups2, err := parseGroups(again)
		if err != nil {
			t.Fatalf("parseGroups(%q) = %#v, but its serialization %q fails: %v", args, groups, again, err)
		}
		for i := range groups {
			if groups[i].name != groups2[i].name || !reflect.DeepEqual(groups[i].argv, groups2[i].argv) {
				t.Fatalf("round trip of %q: %#v, then %#v", args, groups[i], groups2[i])
			}
		}
	})
}
