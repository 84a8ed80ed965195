//go:build linux

package test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"respawn/respawn"
)

// TestManPages renders the man pages with make man and checks them with
// man -l as a reader would see them: no groff warning, no line wider
// than the 80 columns asked for, the sections a man page has, and every
// flag, group setting, state, handled signal, exit status and respawnctl
// command the code has (read from --help and from the source), each in
// its section, so that a new flag or setting without its page fails here.
func TestManPages(t *testing.T) {
	dir := t.TempDir()
	runMake(t, "man", "BIN="+dir)
	rs := manPage(t, filepath.Join(dir, "man", "respawn.8"))
	ctlPage := manPage(t, filepath.Join(dir, "man", "respawnctl.8"))

	for _, flag := range helpFlags(t, respawnBin) {
		rs.option(t, "OPTIONS", flag)
	}
	settings := settingNames(t)
	if len(settings) < 20 {
		t.Fatalf("found %d group settings in cmd/respawn (%q): the source has moved", len(settings), settings)
	}
	for _, name := range settings {
		rs.option(t, "GROUP SETTINGS", "--"+name)
	}
	for st := respawn.State(0); !strings.HasPrefix(st.String(), "STATE("); st++ {
		rs.item(t, "STATES", st.String())
	}
	for _, sig := range respawn.Handled() {
		rs.option(t, "SIGNALS", unix.SignalName(sig.(syscall.Signal)))
	}
	for name, code := range goConsts(t, "../respawn", "Exit") {
		rs.item(t, "EXIT STATUS", strconv.Itoa(code)+" ("+name+")")
	}
	rs.item(t, "FILES", "/run/respawn/control.sock")
	for _, v := range []string{"PATH", "XDG_RUNTIME_DIR", "RESPAWN_CONTROL_TIMEOUT"} {
		rs.item(t, "ENVIRONMENT", v)
	}

	for _, flag := range helpFlags(t, respawnctlBin) {
		ctlPage.option(t, "OPTIONS", flag)
	}
	for _, cmd := range helpCommands(t) {
		ctlPage.item(t, "COMMANDS", cmd)
	}
	for name, code := range goConsts(t, "../cmd/respawnctl", "exit") {
		ctlPage.item(t, "EXIT STATUS", strconv.Itoa(code)+" ("+name+")")
	}
}

// page is a man page as man renders it, by section.
type page struct {
	file     string
	sections map[string][]string // heading: its lines
}

// manPage renders file with man -l at 80 columns, fails t on any groff
// warning or a line wider than 80 columns, and splits it into sections.
func manPage(t *testing.T, file string) *page {
	t.Helper()
	warn := man(t, "--warnings=all", "-l", file)
	if warn.stderr != "" {
		t.Errorf("man -l --warnings=all %s:\n%s", file, warn.stderr)
	}
	text := man(t, "--nh", "--nj", "-l", file).stdout
	p := &page{file: filepath.Base(file), sections: map[string][]string{}}
	heading := regexp.MustCompile(`^[A-Z][A-Z ]+$`)
	cur := ""
	for _, l := range strings.Split(text, "\n") {
		if len([]rune(l)) > 80 {
			t.Errorf("%s: a line wider than 80 columns: %q", p.file, l)
		}
		if heading.MatchString(l) {
			cur = l
			continue
		}
		p.sections[cur] = append(p.sections[cur], l)
	}
	for _, s := range []string{"NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS", "ENVIRONMENT", "FILES", "EXAMPLES", "SEE ALSO"} {
		if _, ok := p.sections[s]; !ok {
			t.Errorf("%s: no section %s", p.file, s)
		}
	}
	return p
}

type manOut struct{ stdout, stderr string }

// man runs man ARGS as a reader at an 80-column terminal would.
func man(t *testing.T, args ...string) manOut {
	t.Helper()
	cmd := exec.Command("man", args...)
	cmd.Env = append(withoutEnv("MANPATH", "MANWIDTH", "LC_ALL", "MANOPT"), "MANWIDTH=80", "LC_ALL=C.UTF-8")
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	if err := cmd.Run(); err != nil {
		t.Fatalf("man %q: %v: %s", args, err, e.String())
	}
	return manOut{o.String(), e.String()}
}

// withoutEnv is the environment without the named variables.
func withoutEnv(names ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(names, k) {
			env = append(env, kv)
		}
	}
	return env
}

// item fails t unless a list item of the section is tagged with what
// (up to a " (" that names it in the message), alone or first among
// several ("SIGTERM, SIGINT") or before its arguments ("status TARGET").
func (p *page) item(t *testing.T, section, what string) {
	t.Helper()
	tag, _, _ := strings.Cut(what, " (")
	for _, l := range p.tags(section) {
		if l == tag || strings.HasPrefix(l, tag+" ") || strings.HasPrefix(l, tag+",") {
			return
		}
	}
	t.Errorf("%s: no item %s in section %s", p.file, what, section)
}

// option fails t unless a list item of the section is tagged with the
// flag, alone or among others ("-h, --help"), with or without its value
// ("--interval=D", "--timeout D").
func (p *page) option(t *testing.T, section, flag string) {
	t.Helper()
	re := regexp.MustCompile(`(^|[ ,])` + regexp.QuoteMeta(flag) + `([=, ]|$)`)
	for _, l := range p.tags(section) {
		if re.MatchString(l) {
			return
		}
	}
	t.Errorf("%s: no item for %s in section %s", p.file, flag, section)
}

// tags are the tag lines of the section's list items: man indents them
// by 7 columns, their text by 11, and a literal block more.
func (p *page) tags(section string) []string {
	var out []string
	for _, l := range p.sections[section] {
		if strings.HasPrefix(l, "       ") && len(l) > 7 && l[7] != ' ' {
			out = append(out, l[7:])
		}
	}
	return out
}

// helpFlags are the long flags bin --help lists.
func helpFlags(t *testing.T, bin string) []string {
	t.Helper()
	out, _ := exec.Command(bin, "--help").Output()
	if _, rest, ok := strings.Cut(string(out), "\nflags:\n"); ok {
		out = []byte(rest) // the text above may show group settings
	}
	re := regexp.MustCompile(`(?m)^\s+(?:-[a-zA-Z], )?(--[a-z][a-z0-9-]*)`)
	var flags []string
	for _, m := range re.FindAllStringSubmatch(string(out), -1) {
		flags = append(flags, m[1])
	}
	if len(flags) < 3 {
		t.Fatalf("%s --help lists %d flags: %s", bin, len(flags), out)
	}
	return flags
}

// helpCommands are the commands respawnctl --help lists.
func helpCommands(t *testing.T) []string {
	t.Helper()
	out, _ := exec.Command(respawnctlBin, "--help").Output()
	_, rest, _ := strings.Cut(string(out), "\ncommands:\n")
	block, _, _ := strings.Cut(rest, "\n\n")
	var cmds []string
	for _, m := range regexp.MustCompile(`(?m)^  ([a-z][a-z-]*)`).FindAllStringSubmatch(block, -1) {
		cmds = append(cmds, m[1])
	}
	if len(cmds) < 5 {
		t.Fatalf("respawnctl --help lists %d commands: %s", len(cmds), out)
	}
	return cmds
}
