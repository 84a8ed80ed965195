package watch

import (
	"strings"
	"testing"
)

func TestNewRule(t *testing.T) {
	tests := []struct {
		name    string
		kind    RuleKind
		pattern string
		want    string // the rule's String, or the error's text
		wantErr bool
	}{
		{name: "exe glob", kind: RuleExe, pattern: "/usr/sbin/*", want: "exe:/usr/sbin/*"},
		{name: "exe bad glob", kind: RuleExe, pattern: "/usr/[", want: `watch: exe rule "/usr/[": bad glob: syntax error in pattern`, wantErr: true},
		{name: "exe bare bracket", kind: RuleExe, pattern: "[", want: "not an absolute path", wantErr: true},
		{name: "exe relative", kind: RuleExe, pattern: "bin/x", want: "not an absolute path", wantErr: true},
		{name: "exe trailing backslash", kind: RuleExe, pattern: `/x\`, want: "bad glob", wantErr: true},
		{name: "name", kind: RuleName, pattern: "redis-server", want: "name:redis-server"},
		{name: "name with space", kind: RuleName, pattern: "Web Content", want: "name:Web Content"},
		{name: "name with slash", kind: RuleName, pattern: "usr/redis", want: `watch: name rule "usr/redis": a name holds no '/': for a path, use an exe rule`, wantErr: true},
		{name: "regex", kind: RuleRegex, pattern: "^python3 .*worker", want: "regex:^python3 .*worker"},
		{name: "bad regex", kind: RuleRegex, pattern: "(", want: `watch: regex rule "(": missing closing ): "("`, wantErr: true},
		{name: "pid", kind: RulePid, pattern: "123", want: "pid:123"},
		{name: "pid made canonical", kind: RulePid, pattern: "0123", want: "pid:123"},
		{name: "pid 0", kind: RulePid, pattern: "0", want: "a pid is 1 or more", wantErr: true},
		{name: "pid -1", kind: RulePid, pattern: "-1", want: "a pid is 1 or more", wantErr: true},
		{name: "pid huge", kind: RulePid, pattern: "99999999999999999999999", want: "over the kernel's limit", wantErr: true},
		{name: "pid over pid_max", kind: RulePid, pattern: "4194305", want: "over the kernel's limit", wantErr: true},
		{name: "pid word", kind: RulePid, pattern: "init", want: "not a number", wantErr: true},
		{name: "empty", kind: RuleName, pattern: "", want: "empty", wantErr: true},
		{name: "NUL", kind: RuleExe, pattern: "/a\x00b", want: "NUL", wantErr: true},
		{name: "too long", kind: RuleRegex, pattern: strings.Repeat("a", MaxPattern+1), want: "over 4096 bytes", wantErr: true},
		{name: "no kind", kind: 0, pattern: "x", want: "unknown kind", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewRule(tt.kind, tt.pattern, ActionDefault)
			switch {
			case tt.wantErr && err == nil:
				t.Fatalf("NewRule = %v, want an error with %q", r, tt.want)
			case tt.wantErr && (!strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n")):
				t.Fatalf("error %q, want one line with %q", err, tt.want)
			case !tt.wantErr && err != nil:
				t.Fatal(err)
			case !tt.wantErr && r.String() != tt.want:
				t.Fatalf("String() = %q, want %q", r.String(), tt.want)
			}
		})
	}
}

func TestParseRule(t *testing.T) {
	tests := []struct {
		name, in string
		kind     RuleKind
		pattern  string
		action   Action
		str      string // String of the result; in if ""
		err      string
	}{
		{name: "exe", in: "exe:/usr/sbin/*", kind: RuleExe, pattern: "/usr/sbin/*"},
		{name: "suffix", in: "exe:/x (notify)", kind: RuleExe, pattern: "/x", action: ActionNotify},
		{name: "prefix", in: "notify exe:/x", kind: RuleExe, pattern: "/x", action: ActionNotify, str: "exe:/x (notify)"},
		{name: "restart prefix", in: "restart name:redis-server", kind: RuleName, pattern: "redis-server", action: ActionRestart, str: "name:redis-server (restart)"},
		{name: "colon in pattern", in: "regex:^a:b$", kind: RuleRegex, pattern: "^a:b$"},
		{name: "pattern that looks like an action", in: "regex:x (notify) (notify)", kind: RuleRegex, pattern: "x (notify)", action: ActionNotify},
		{name: "pid", in: "pid:42 (restart)", kind: RulePid, pattern: "42", action: ActionRestart},
		{name: "bare pid", in: "42", err: "want KIND:PATTERN"},
		{name: "unknown kind", in: "path:/x", err: `unknown kind "path"`},
		{name: "empty pattern", in: "name:", err: "empty"},
		{name: "bad glob", in: "exe:/[", err: "bad glob"},
		{name: "bad regex", in: "regex:(", err: "missing closing )"},
		{name: "pid 0", in: "pid:0", err: "a pid is 1 or more"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseRule(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseRule(%q) = %v, %v; want an error with %q", tt.in, r, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Kind != tt.kind || r.Pattern != tt.pattern || r.Action != tt.action {
				t.Errorf("ParseRule(%q) = %s %q %s", tt.in, r.Kind, r.Pattern, r.Action)
			}
			str := tt.str
			if str == "" {
				str = tt.in
			}
			if r.String() != str {
				t.Errorf("String() = %q, want %q", r.String(), str)
			}
		})
	}
}

func TestEffective(t *testing.T) {
	tests := []struct {
		name   string
		kind   RuleKind
		action Action
		want   Action
	}{
		{"exe default", RuleExe, ActionDefault, ActionRestart},
		{"pid default", RulePid, ActionDefault, ActionRestart},
		{"name default", RuleName, ActionDefault, ActionNotify},
		{"regex default", RuleRegex, ActionDefault, ActionNotify},
		{"exe notify", RuleExe, ActionNotify, ActionNotify},
		{"name restart", RuleName, ActionRestart, ActionRestart},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (Rule{Kind: tt.kind, Action: tt.action}).Effective(); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMatch(t *testing.T) {
	redis := Ident{Pid: 77, Comm: "redis-server", Exe: "/usr/bin/redis-server", Argv: []string{"/usr/bin/redis-server", "*:6379"}}
	long := Ident{Pid: 78, Comm: "systemd-journal", Exe: "/usr/lib/systemd/systemd-journald", Argv: []string{"/usr/lib/systemd/systemd-journald"}}
	renamed := Ident{Pid: 79, Comm: "python3", Exe: "/usr/bin/python3.13", Argv: []string{"./bin/worker", "--queue", "mail"}}
	denied := Ident{Pid: 80, Comm: "secret", Argv: []string{"secret", "-x"}} // exe unreadable
	tests := []struct {
		name string
		rule string
		id   Ident
		want bool
	}{
		{"exe exact", "exe:/usr/bin/redis-server", redis, true},
		{"exe glob", "exe:/usr/bin/*", redis, true},
		{"exe glob stops at /", "exe:/usr/*", redis, false},
		{"exe other", "exe:/usr/sbin/*", redis, false},
		{"exe unreadable", "exe:/*", denied, false},
		{"name comm", "name:redis-server", redis, true},
		{"name is not a prefix", "name:redis", redis, false},
		{"name beyond 15 bytes", "name:systemd-journald", long, true},
		{"name cut: comm cannot tell them apart", "name:systemd-journalx", long, true},
		{"name of 15 bytes is exact", "name:systemd-journa", long, false},
		{"name argv0 base", "name:worker", renamed, true},
		{"name of the interpreter", "name:python3", renamed, true},
		{"name exe unreadable", "name:secret", denied, true},
		{"regex on joined argv", "regex:--queue mail$", renamed, true},
		{"regex anchored", "regex:^--queue", renamed, false},
		{"regex not on exe", "regex:python", renamed, false},
		{"pid", "pid:77", redis, true},
		{"pid other", "pid:77", long, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseRule(tt.rule)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Match(&tt.id); got != tt.want {
				t.Errorf("%s matches %+v: %v, want %v", tt.rule, tt.id, got, tt.want)
			}
		})
	}
}

// A rule read back from a snapshot is a literal, not made by NewRule: it
// matches the same; one that NewRule would refuse matches nothing.
func TestMatchLiteralRule(t *testing.T) {
	id := Ident{Pid: 123, Comm: "x", Exe: "/x", Argv: []string{"x", "serve"}}
	tests := []struct {
		name string
		rule Rule
		want bool
	}{
		{"regex", Rule{Kind: RuleRegex, Pattern: "serve$"}, true},
		{"pid", Rule{Kind: RulePid, Pattern: "123"}, true},
		{"pid not canonical", Rule{Kind: RulePid, Pattern: "0123"}, true},
		{"bad regex", Rule{Kind: RuleRegex, Pattern: "("}, false},
		{"bad pid", Rule{Kind: RulePid, Pattern: "-123"}, false},
		{"bad glob", Rule{Kind: RuleExe, Pattern: "/x["}, false},
		{"no kind", Rule{Pattern: "x"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.rule.Match(&id); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseAction(t *testing.T) {
	for _, s := range []string{"restart", "notify"} {
		if a, err := ParseAction(s); err != nil || a.String() != s {
			t.Errorf("ParseAction(%q) = %v, %v", s, a, err)
		}
	}
	if _, err := ParseAction("Restart"); err == nil {
		t.Errorf("ParseAction(Restart): no error")
	}
}

func TestParseTarget(t *testing.T) {
	tests := []struct{ name, in, want, err string }{
		{name: "pid alone", in: "0123", want: "pid:123"},
		{name: "rule", in: "exe:/usr/sbin/* (notify)", want: "exe:/usr/sbin/* (notify)"},
		{name: "pid 0", in: "0", err: `watch: pid rule "0": a pid is 1 or more`},
		{name: "neither", in: "12a", err: `watch: rule "12a": want KIND:PATTERN`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseTarget(tt.in)
			switch {
			case tt.err != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.err)):
				t.Errorf("ParseTarget(%q): %v, want %q", tt.in, err, tt.err)
			case tt.err == "" && (err != nil || r.String() != tt.want):
				t.Errorf("ParseTarget(%q) = %q, %v; want %q", tt.in, r.String(), err, tt.want)
			}
		})
	}
}
