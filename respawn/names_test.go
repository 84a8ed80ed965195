package respawn

import (
	"strings"
	"testing"
)

func TestDefaultName(t *testing.T) {
	tests := []struct {
		name, program, want string
	}{
		{name: "base name", program: "/usr/sbin/nginx", want: "nginx"},
		{name: "looked up in PATH", program: "sleep", want: "sleep"},
		{name: "numeric base name gets a prefix", program: "/opt/x/2", want: "_2"},
		{name: "zero", program: "0", want: "_0"},
		{name: "digits and a dot stay", program: "/bin/1.5", want: "1.5"},
		{name: "newline", program: "/tmp/a\n[2] fake", want: "a__2__fake"},
		{name: "space and tab", program: "my prog\tx", want: "my_prog_x"},
		{name: "UTF-8 bytes", program: "/bin/é", want: "__"},
		{name: "invalid UTF-8", program: "\xff1", want: "_1"},
		{name: "root", program: "/", want: "_"},
		{name: "cut to 64", program: strings.Repeat("a", 100), want: strings.Repeat("a", 64)},
		{name: "long number cut to 64 with its prefix", program: strings.Repeat("9", 100), want: "_" + strings.Repeat("9", 63)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DefaultName(tt.program); got != tt.want {
				t.Errorf("DefaultName(%q) = %q, want %q", tt.program, got, tt.want)
			}
		})
	}
}

// An index and a name never collide: "2" is the second record even when
// a record (from an older snapshot) is named "2".
func TestFindIndexBeforeName(t *testing.T) {
	s := New(Config{}, []Spec{{Argv: []string{"/opt/x/2"}}, {Name: "web", Argv: []string{"sleep"}}})
	if s.recs[0].Name != "_2" {
		t.Fatalf("first server named %q, want _2", s.recs[0].Name)
	}
	s.recs[0].Name = "2"
	s.byName["2"] = s.recs[0]
	for _, tt := range []struct{ target, want string }{{"2", "web"}, {"1", "2"}, {"web", "web"}, {"02", "web"}} {
		if r := s.find(tt.target); r == nil || r.Name != tt.want {
			t.Errorf("find(%q) = %v, want %s", tt.target, r, tt.want)
		}
	}
	for _, target := range []string{"3", "0", "-1", "+2", ""} {
		if r := s.find(target); r != nil {
			t.Errorf("find(%q) = %s, want none", target, r.Name)
		}
	}
}

// A name given with @NAME is the operator's: a default name never takes
// it, whichever server comes first. { web } { @web sleep 1 } named the
// second server web-2 and gave "web" to the first.
func TestGivenNameBeatsDefaultName(t *testing.T) {
	s := New(Config{}, []Spec{
		{Argv: []string{"/usr/bin/web"}},
		{Name: "web", Argv: []string{"sleep", "1"}},
		{Argv: []string{"/opt/web"}},
		{Name: "web-2", Argv: []string{"sleep", "2"}},
	})
	want := []string{"web-3", "web", "web-4", "web-2"}
	for i, w := range want {
		if got := s.recs[i].Name; got != w {
			t.Errorf("server %d named %q, want %q", i+1, got, w)
		}
		if s.find(w) != s.recs[i] {
			t.Errorf("%q does not find server %d", w, i+1)
		}
	}
}
