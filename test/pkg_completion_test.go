//go:build linux

package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// completionCase is one command line being completed (its words, the
// last one the word under the cursor) and what completion offers.
type completionCase struct {
	name  string
	words []string
	want  string
}

// completionSup starts a respawn with two named servers and its control
// socket, whose targets the completion must ask respawnctl list for.
func completionSup(t *testing.T) (*Sup, string) {
	t.Helper()
	return startCtl(t, "{", "@webfront", selfBin, "helper", "sleep", "}", "{", "@db", selfBin, "helper", "sleep", "}")
}

// TestCompletionBash loads completion/respawnctl.bash in a bash without
// startup files, checks complete -p registers it, and calls the function
// it registered the way readline does (COMP_WORDS, COMP_CWORD), against a
// running respawn: commands, flags, signal names, and targets read from
// the supervisor (webfront is in no static list).
func TestCompletionBash(t *testing.T) {
	s, sock := completionSup(t)
	cases := []completionCase{
		{"commands", []string{"respawnctl", "st"}, "status stop start"},
		{"flags", []string{"respawnctl", "--j"}, "--json"},
		{"target", []string{"respawnctl", "--socket", sock, "stop", "w"}, "webfront"},
		{"every target", []string{"respawnctl", "-s", sock, "status", ""}, "webfront db control"},
		{"socket=path", []string{"respawnctl", "--socket", "=", sock, "start", "d"}, "db"},
		{"signal", []string{"respawnctl", "--socket", sock, "signal", "webfront", "US"}, "USR1 USR2"},
		{"SIG signal", []string{"respawnctl", "--socket", sock, "signal", "db", "SIGHU"}, "SIGHUP"},
		{"no argument", []string{"respawnctl", "--socket", sock, "list", ""}, ""},
		{"no supervisor", []string{"respawnctl", "--socket", sock + ".gone", "stop", "w"}, ""},
		{"watch flag", []string{"respawnctl", "watch", "--re"}, "--regex --reload"},
		{"watch action", []string{"respawnctl", "watch", "--name", "x", "--action", ""}, "restart notify"},
		{"unwatch flag", []string{"respawnctl", "unwatch", "--re"}, "--regex"},
	}
	script := `source ../completion/respawnctl.bash || exit 1
spec=$(complete -p respawnctl) || exit 1
printf '%s\n' "$spec"
fn=${spec#*-F }; fn=${fn%% *}
comp() {
	COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	"$fn" respawnctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
	printf '%s\n' "${COMPREPLY[*]}"
}
`
	// Every command and flag of respawnctl --help is offered, in any order.
	cmds, flags := helpCommands(t), helpFlags(t, respawnctlBin)
	cases = append(cases,
		completionCase{"every command", []string{"respawnctl", ""}, strings.Join(cmds, " ")},
		completionCase{"every flag", []string{"respawnctl", "--"}, strings.Join(flags, " ")})
	for _, c := range cases {
		script += "comp " + shellWords(c.words) + "\n"
	}
	cmd := exec.Command("bash", "--norc", "--noprofile", "-c", script)
	cmd.Env = append(withoutEnv("PATH"), "PATH="+filepath.Dir(respawnctlBin)+":"+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if lines[0] != "complete -F _respawnctl respawnctl" {
		t.Errorf("complete -p respawnctl says %q", lines[0])
	}
	n := len(cases) - 2
	checkCompletions(t, cases[:n], lines[1:len(lines)-2])
	for i, c := range cases[n:] {
		offered := strings.Fields(lines[len(lines)-2+i])
		for _, w := range strings.Fields(c.want) {
			if !slices.Contains(offered, w) {
				t.Errorf("%s: %q is not offered (%q)", c.name, w, offered)
			}
		}
	}
	if code := s.stop(); code != 0 {
		t.Errorf("respawn exit status %d, want 0", code)
	}
}

// TestCompletionZsh loads completion/respawnctl.zsh as _respawnctl from
// $fpath in an interactive zsh on a pty (zsh/zpty), with compinit, types
// each command line and a Tab, and reads the line as completion left it:
// a unique match is completed with a space after it.
func TestCompletionZsh(t *testing.T) {
	s, sock := completionSup(t)
	cases := []completionCase{
		{"command", []string{"respawnctl stat"}, "respawnctl status "},
		{"flag", []string{"respawnctl --js"}, "respawnctl --json "},
		{"target", []string{"respawnctl --socket " + sock + " stop w"}, "respawnctl --socket " + sock + " stop webfront "},
		{"socket=path", []string{"respawnctl --socket=" + sock + " status d"}, "respawnctl --socket=" + sock + " status db "},
		{"-s path", []string{"respawnctl -s " + sock + " revive co"}, "respawnctl -s " + sock + " revive control "},
		{"signal", []string{"respawnctl -s " + sock + " signal webfront HU"}, "respawnctl -s " + sock + " signal webfront HUP "},
		{"no supervisor", []string{"respawnctl -s " + sock + ".gone stop w"}, "respawnctl -s " + sock + ".gone stop w"},
	}
	// Every command and flag of respawnctl --help completes from all of
	// it but its last letter (a flag that takes a value may end in '=').
	flagsFrom := len(cases)
	for _, c := range helpCommands(t) {
		cases = append(cases, completionCase{"command " + c, []string{"respawnctl " + c[:len(c)-1]}, "respawnctl " + c + " "})
		flagsFrom++
	}
	for _, f := range helpFlags(t, respawnctlBin) {
		cases = append(cases, completionCase{"flag " + f, []string{"respawnctl " + f[:len(f)-1]}, "respawnctl " + f + " "})
	}
	dir := t.TempDir()
	fp := filepath.Join(dir, "functions")
	if err := os.Mkdir(fp, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("../completion/respawnctl.zsh")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(fp, "_respawnctl"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	drive := filepath.Join(dir, "drive.zsh")
	if err := os.WriteFile(drive, []byte(zshDriver), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	args := []string{"-f", drive, fp, filepath.Dir(respawnctlBin), out}
	for _, c := range cases {
		args = append(args, c.words[0])
	}
	if b, err := exec.Command("zsh", args...).CombinedOutput(); err != nil {
		t.Fatalf("zsh: %v\n%s", err, b)
	}
	got := lines(out)
	if len(got) == 0 || got[0] != "ready" {
		t.Fatalf("the zsh on the pty did not start: %q", got)
	}
	var bufs []string
	for i, l := range got[1:] {
		b := strings.TrimSuffix(strings.TrimPrefix(l, "<"), ">")
		if i >= flagsFrom && strings.HasSuffix(b, "=") {
			b = strings.TrimSuffix(b, "=") + " "
		}
		bufs = append(bufs, b)
	}
	checkCompletions(t, cases, bufs)
	if code := s.stop(); code != 0 {
		t.Errorf("respawn exit status %d, want 0", code)
	}
}

// zshDriver is run as zsh -f drive.zsh FPATHDIR BINDIR OUT LINE...: it
// starts an interactive zsh on a pty with FPATHDIR in $fpath and BINDIR
// in $PATH, runs compinit, then for each LINE types it and a Tab, and
// Ctrl-T, bound to a widget that appends the edit buffer, as completion
// left it, to OUT as "<BUFFER>". It waits for each line in OUT (up to
// 3000 polls, half a minute or more) before typing the next, so no
// keystroke is read ahead of the completion, and none is cut off by the
// end.
const zshDriver = `zmodload zsh/zpty || exit 1
fp=$1 bindir=$2 out=$3; shift 3
waitlines() {
	local i
	local -a got
	for i in {1..3000}; do
		[[ -f $out ]] && got=(${(f)"$(<$out)"}) && (( $#got >= $1 )) && return 0
		sleep 0.01
	done
	return 1
}
zpty t zsh -f -i
zpty -w t "PS1='' PROMPT_EOL_MARK='' PATH=$bindir:\$PATH fpath=($fp \$fpath)"
zpty -w t "autoload -Uz compinit && compinit -u -D"
zpty -w t "dumpbuf() { print -r -- \"<\$BUFFER>\" >>$out; BUFFER= }; zle -N dumpbuf; bindkey '^T' dumpbuf"
zpty -w t "print ready >>$out"
n=1
if waitlines 1; then
	for line in "$@"; do
		zpty -w -n t "$line"$'\t'
		zpty -w -n t $'\x14'
		waitlines $((++n)) || break
	done
fi
zpty -w t "exit"
zpty -d t
`

// checkCompletions compares what completion offered, a line per case.
func checkCompletions(t *testing.T, cases []completionCase, got []string) {
	t.Helper()
	if len(got) != len(cases) {
		t.Fatalf("%d completions for %d cases: %q", len(got), len(cases), got)
	}
	for i, c := range cases {
		if got[i] != c.want {
			t.Errorf("%s: %q completes to %q, want %q", c.name, c.words, got[i], c.want)
		}
	}
}

// shellWords quotes words for sh (none holds a single quote).
func shellWords(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = "'" + w + "'"
	}
	return strings.Join(q, " ")
}
