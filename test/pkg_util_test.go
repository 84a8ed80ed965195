//go:build linux

package test

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"respawn/respawn"
)

// The packaging tests run make in the source tree (..) with BIN, DESTDIR
// and the like pointed at temporary directories: nothing is left in the
// tree.

// runMake runs make -C .. ARGS and fails t if it fails.
func runMake(t *testing.T, args ...string) {
	t.Helper()
	runIn(t, "..", "make", append([]string{"--no-print-directory"}, args...)...)
}

// runIn runs name ARGS in dir and returns its stdout; it fails t, with
// the output, if the command fails.
func runIn(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %q: %v\nstdout: %s\nstderr: %s", name, args, err, out.String(), errb.String())
	}
	return out.String()
}

// gitDescribe is the version make build stamps in a git checkout.
func gitDescribe(t *testing.T) string {
	t.Helper()
	v := strings.TrimSpace(runIn(t, "..", "git", "describe", "--tags", "--always", "--dirty"))
	if v == "" || v == "dev" {
		t.Fatalf("git describe says %q: the tests run in a git checkout", v)
	}
	return v
}

// goConsts returns the integer constants whose names start with prefix in
// the Go package in dir (its non-test files), by name.
func goConsts(t *testing.T, dir, prefix string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, f := range parseGoDir(t, dir) {
		ast.Inspect(f, func(n ast.Node) bool {
			vs, ok := n.(*ast.ValueSpec)
			if !ok {
				return true
			}
			for i, name := range vs.Names {
				if !strings.HasPrefix(name.Name, prefix) || i >= len(vs.Values) {
					continue
				}
				if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.INT {
					out[name.Name], _ = strconv.Atoi(lit.Value)
				}
			}
			return true
		})
	}
	return out
}

// settingNames are the keys of the group settings' tables in
// cmd/respawn (every map literal of setting values), and the resource
// limits, respawn.LimitNames.
func settingNames(t *testing.T) []string {
	t.Helper()
	var names []string
	keys := func(cl *ast.CompositeLit) {
		for _, e := range cl.Elts {
			if kv, ok := e.(*ast.KeyValueExpr); ok {
				if lit, ok := kv.Key.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					s, _ := strconv.Unquote(lit.Value)
					names = append(names, s)
				}
			}
		}
	}
	for _, f := range parseGoDir(t, "../cmd/respawn") {
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CompositeLit:
				if mt, ok := n.Type.(*ast.MapType); ok {
					if id, ok := mt.Value.(*ast.Ident); ok && id.Name == "setting" {
						keys(n)
					}
				}
			}
			return true
		})
	}
	for name := range respawn.LimitNames {
		names = append(names, name)
	}
	return names
}

func parseGoDir(t *testing.T, dir string) []*ast.File {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	fset := token.NewFileSet()
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, dir+"/"+e.Name(), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	return files
}
