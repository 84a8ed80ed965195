package watch

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// armourdSample is armourd's own sample file (armourd.conf.in), with
// entries uncommented and options as its parser reads them.
const armourdSample = `# /etc/armourd.conf
# list in this file the file path of executables that
# need be recovered on failure
#
## syntax is:
#
/home/user/bin/foo
/home/user/bin/bar   # a comment after an entry
#
## using glob path-names to add all binaries
## in a directory:
#
/usr/local/bin/*
/opt/x/daemon {
	pidfile: /run/x.pid
	command: "/opt/x/daemon --conf \"a b\""
	notify: root
}
/home/user/bin/foo
	/srv/a /srv/b
/srv/c#not-a-comment
`

func TestParseArmourd(t *testing.T) {
	rules, err := ParseArmourd("armourd.conf", []byte(armourdSample), ActionNotify)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rules {
		if r.Kind != RuleExe || r.File != "armourd.conf" || r.Action != ActionNotify {
			t.Errorf("rule %+v", r)
		}
		got = append(got, r.Pattern)
	}
	want := []string{"/home/user/bin/foo", "/home/user/bin/bar", "/usr/local/bin/*", "/opt/x/daemon", "/srv/a", "/srv/b", "/srv/c#not-a-comment"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

func TestParseArmourdErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{name: "relative", in: "/a\n\nbin/foo\n", want: `watch: f:3: "bin/foo": not an absolute path`},
		{name: "bad glob", in: "# x\n/usr/[\n", want: `watch: f:2: "/usr/[": bad glob`},
		{name: "unknown option", in: "/a {\n  restart: yes\n}\n", want: `watch: f:2: unknown option "restart"`},
		{name: "option without colon", in: "/a { pidfile /x }", want: `watch: f:1: option pidfile: want "pidfile: VALUE"`},
		{name: "option without value", in: "/a { pidfile: }", want: "watch: f:1: option pidfile: no value"},
		{name: "unterminated block", in: "/a\n{\npidfile: /x\n", want: "watch: f:2: '{' without its '}'"},
		{name: "unterminated quote", in: "/a {\ncommand: \"x\n\n", want: `watch: f:2: option command: '"' without its end`},
		{name: "block alone", in: "{ pidfile: /x }", want: `watch: f:1: "": empty`},
		{name: "NUL", in: "/a\x00b\n", want: "holds a NUL byte"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rules, err := ParseArmourd("f", []byte(tt.in), ActionDefault)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) && !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ParseArmourd = %v, %v; want an error %q", rules, err, tt.want)
			}
		})
	}
}

func TestParseArmourdBounds(t *testing.T) {
	if _, err := ParseArmourd("f", make([]byte, MaxFileBytes+1), ActionDefault); err == nil || !strings.Contains(err.Error(), "over 1048576 bytes") {
		t.Errorf("a file over the bound: %v", err)
	}
	var b strings.Builder
	for i := range MaxFileRules + 1 {
		fmt.Fprintf(&b, "/bin/p%d\n", i)
	}
	if _, err := ParseArmourd("f", []byte(b.String()), ActionDefault); err == nil || !strings.Contains(err.Error(), "over 4096 entries") {
		t.Errorf("too many entries: %v", err)
	}
	if rules, err := ParseArmourd("f", []byte(strings.Repeat("/same\n", MaxFileRules+1)), ActionDefault); err != nil || len(rules) != 1 {
		t.Errorf("one entry repeated: %d rules, %v", len(rules), err)
	}
}

// ReadArmourd reads a real file; an entry that is a symbolic link is
// watched as its target, what /proc/PID/exe shows.
func TestReadArmourd(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "daemon-1.2")
	if err := os.WriteFile(target, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "daemon")
	if err := os.Symlink("daemon-1.2", link); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "armourd.conf")
	text := link + "\n" + target + "\n" + dir + "/*\n/nonexistent/x\n"
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	rules, err := ReadArmourd(conf, ActionDefault)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rules {
		got = append(got, r.String())
	}
	want := []string{"exe:" + target, "exe:" + dir + "/*", "exe:/nonexistent/x"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}
