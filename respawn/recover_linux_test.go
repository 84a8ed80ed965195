//go:build linux

package respawn

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestMatchChildren(t *testing.T) {
	nginx, pg := fileID{dev: 1, ino: 10}, fileID{dev: 1, ino: 20}
	prog := func(id fileID, argv ...string) program {
		return program{argv: argv, later: argv, ids: []fileID{id}, paths: []string{argv[0]}}
	}
	kid := func(pid int, start uint64, id fileID, leader bool, argv ...string) child {
		return child{pid: pid, argv: argv, exe: id, start: start, leader: leader}
	}
	tests := []struct {
		name  string
		progs []program
		kids  []child
		want  []found
	}{
		{
			name:  "by command line",
			progs: []program{prog(nginx, "/usr/sbin/nginx", "-g", "daemon off;")},
			kids:  []child{kid(7, 100, nginx, true, "/usr/sbin/nginx", "-g", "daemon off;")},
			want:  []found{{pid: 7, among: 1}},
		},
		{
			name:  "argv rewritten: by executable",
			progs: []program{prog(nginx, "/usr/sbin/nginx", "-g", "daemon off;")},
			kids:  []child{kid(7, 100, nginx, true, "nginx: master process /usr/sbin/nginx")},
			want:  []found{{pid: 7, byExe: true, among: 1}},
		},
		{
			name:  "not a group leader: not a server respawn started",
			progs: []program{prog(nginx, "/usr/sbin/nginx")},
			kids:  []child{kid(7, 100, nginx, false, "nginx: worker process")},
			want:  []found{{}},
		},
		{
			name:  "another executable",
			progs: []program{prog(nginx, "/usr/sbin/nginx")},
			kids:  []child{kid(7, 100, pg, true, "postgres: checkpointer")},
			want:  []found{{}},
		},
		{
			name:  "by path when the file was replaced",
			progs: []program{prog(nginx, "/usr/sbin/nginx")},
			kids:  []child{{pid: 7, argv: []string{"nginx: master"}, exe: fileID{dev: 1, ino: 99}, path: "/usr/sbin/nginx", start: 5, leader: true}},
			want:  []found{{pid: 7, byExe: true, among: 1}},
		},
		{
			name: "two of one executable: earliest started to the lowest index",
			progs: []program{
				prog(nginx, "/usr/sbin/nginx", "-c", "a.conf"),
				prog(nginx, "/usr/sbin/nginx", "-c", "b.conf"),
			},
			kids: []child{
				kid(9, 300, nginx, true, "nginx: master process b"),
				kid(8, 200, nginx, true, "nginx: master process a"),
			},
			want: []found{{pid: 8, byExe: true, among: 2}, {pid: 9, byExe: true, among: 1}},
		},
		{
			name: "command line first, then executable for the rest",
			progs: []program{
				prog(nginx, "/usr/sbin/nginx", "-c", "a.conf"),
				prog(nginx, "/usr/sbin/nginx", "-c", "b.conf"),
			},
			kids: []child{
				kid(8, 200, nginx, true, "nginx: master process a"),
				kid(9, 300, nginx, true, "/usr/sbin/nginx", "-c", "a.conf"),
			},
			want: []found{{pid: 9, among: 1}, {pid: 8, byExe: true, among: 1}},
		},
		{
			// A worker the server forked keeps its command line; one left
			// from an earlier process of the server is our child too.
			name:  "by command line, the group leader before a worker",
			progs: []program{prog(nginx, "/usr/sbin/myd", "-f")},
			kids: []child{
				kid(5, 100, nginx, false, "/usr/sbin/myd", "-f"),
				kid(9, 300, nginx, true, "/usr/sbin/myd", "-f"),
			},
			want: []found{{pid: 9, among: 1}},
		},
		{
			name:  "one child for two servers",
			progs: []program{prog(pg, "/usr/bin/postgres"), prog(pg, "/usr/bin/postgres", "-D", "x")},
			kids:  []child{kid(4, 1, pg, true, "postgres: main")},
			want:  []found{{pid: 4, byExe: true, among: 1}, {}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := matchChildren(tt.progs, tt.kids); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// A program run through a symlink is known by the path the symlink
// resolves to, which /proc/PID/exe shows: after its file is replaced (a
// package upgrade: a new inode), that path is all that matches.
func TestProgramOfSymlink(t *testing.T) {
	dir := t.TempDir()
	real, link := filepath.Join(dir, "real"), filepath.Join(dir, "link")
	if err := os.WriteFile(real, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("real", link); err != nil {
		t.Fatal(err)
	}
	p := programOf([]string{link})
	if !slices.Contains(p.paths, real) || !slices.Contains(p.paths, link) {
		t.Errorf("paths %q, want %s and %s", p.paths, link, real)
	}
	if !p.runs(child{path: real}) {
		t.Errorf("a child whose exe is %s does not run %s", real, link)
	}
}

// A script's process shows its interpreter, the "#!" line's argument
// (one word, whatever it holds) and the path it was run by before its
// arguments; that command line is matched exactly, as respawn started it.
func TestProgramOfScript(t *testing.T) {
	script := filepath.Join(t.TempDir(), "s")
	for _, tt := range []struct {
		line string
		want []string
	}{
		{"#!/bin/sh\n", []string{"/bin/sh", script, "a"}},
		{"#! /bin/sh -e\n", []string{"/bin/sh", "-e", script, "a"}},
		{"#!/usr/bin/env python3 -u \n", []string{"/usr/bin/env", "python3 -u", script, "a"}},
		{"#!/bin/sh\t-x\n", []string{"/bin/sh", "-x", script, "a"}},
		{"#!\n", nil},
	} {
		if err := os.WriteFile(script, []byte(tt.line+"exit 0\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		p := programOf([]string{script, "a"})
		var got []string
		if len(p.script) > 0 {
			got = p.script[0]
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%q: script command line %q, want %q", tt.line, got, tt.want)
		}
		if tt.want != nil && !p.shows(tt.want) {
			t.Errorf("%q: %q not matched", tt.line, tt.want)
		}
	}
}

// FuzzParseShebang feeds parseShebang the start of a file. It must never
// panic; a result is an interpreter without blanks, and at most one
// argument, trimmed and not empty, both from the first line.
func FuzzParseShebang(f *testing.F) {
	for _, s := range []string{"#!/bin/sh\n", "#! /usr/bin/env python3 -u\nx", "#!\n", "#!/bin/sh\t-e \n", "no", "#!", "#!   \t"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got := parseShebang(b)
		if got == nil {
			return
		}
		first, _, _ := strings.Cut(string(b), "\n")
		if len(got) > 2 || got[0] == "" || strings.ContainsAny(got[0], " \t\n") || !strings.Contains(first, got[0]) {
			t.Fatalf("parseShebang(%q) = %q", b, got)
		}
		if len(got) == 2 && (got[1] == "" || strings.Trim(got[1], " \t") != got[1] || !strings.Contains(first, got[1])) {
			t.Fatalf("parseShebang(%q) = %q", b, got)
		}
	})
}
