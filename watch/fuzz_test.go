package watch

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

// oneLine fails t unless err is one line that starts with the package's
// name.
func oneLine(t *testing.T, what string, err error) {
	t.Helper()
	if m := err.Error(); !strings.HasPrefix(m, "watch: ") || strings.ContainsAny(m, "\r\n") {
		t.Fatalf("%s: error %q is not one line starting with the package", what, m)
	}
}

// FuzzParseRule feeds ParseRule what an operator or a client may type.
// A rule it accepts passes NewRule, and its String reads back to the same
// kind, pattern and effective action, and to the same String.
func FuzzParseRule(f *testing.F) {
	for _, s := range []string{
		"exe:/usr/sbin/*", "exe:/x (notify)", "notify exe:/x", "restart name:redis-server",
		"name:Web Content", "regex:^python3 .*worker", "regex:(", "regex:a (notify) (restart)",
		"pid:123", "pid:0123", "pid:-1", "pid:99999999999999999999", "123", "exe:[", "exe:rel",
		"name:a/b", "name:", ":", "", "notify ", "exe:/a\x00b", "regex:x (restart)",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRule(s)
		if err != nil {
			oneLine(t, "ParseRule", err)
			return
		}
		if _, err := NewRule(r.Kind, r.Pattern, r.Action); err != nil {
			t.Fatalf("ParseRule(%q) = %+v, which NewRule refuses: %v", s, r, err)
		}
		back, err := ParseRule(r.String())
		if err != nil {
			t.Fatalf("ParseRule(%q).String() = %q, which ParseRule refuses: %v", s, r.String(), err)
		}
		if back.Kind != r.Kind || back.Pattern != r.Pattern || back.Effective() != r.Effective() || back.String() != r.String() {
			t.Fatalf("ParseRule(%q) = %q, read back as %q", s, r.String(), back.String())
		}
	})
}

// FuzzParseArmourd feeds ParseArmourd any file. What it accepts is
// bounded, each rule passes NewRule, none repeats, and the patterns
// written one a line read back the same.
func FuzzParseArmourd(f *testing.F) {
	for _, s := range []string{
		armourdSample, "", "#", "/a", "/a\n/a\n", "/a {", "/a { pidfile: /x }", "/a{notify:x}",
		"/a { command: \"x \\\" }\" }", "/a { command: \"x", "{}", "relative\n", "/usr/[\n",
		"/a#b # c\n/d\r\n", "/a { nope: 1 }", "/a { pidfile }", "/a\x00", "\t\v\f/a",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rules, err := ParseArmourd("f", data, ActionNotify)
		if err != nil {
			oneLine(t, "ParseArmourd", err)
			return
		}
		if len(rules) > MaxFileRules {
			t.Fatalf("%d rules", len(rules))
		}
		var patterns []string
		for _, r := range rules {
			if _, err := NewRule(r.Kind, r.Pattern, r.Action); err != nil || r.Kind != RuleExe || r.File != "f" {
				t.Fatalf("rule %+v: %v", r, err)
			}
			if slices.Contains(patterns, r.Pattern) {
				t.Fatalf("rule %q twice", r.Pattern)
			}
			patterns = append(patterns, r.Pattern)
		}
		again, err := ParseArmourd("f", []byte(strings.Join(patterns, "\n")), ActionNotify)
		if err != nil || len(again) != len(rules) {
			t.Fatalf("patterns %q read back as %v, %v", patterns, again, err)
		}
		for i := range again {
			if again[i].Pattern != patterns[i] {
				t.Fatalf("pattern %q read back as %q", patterns[i], again[i].Pattern)
			}
		}
	})
}

// FuzzParseStat feeds parseStat any /proc/PID/stat: the comm a process
// sets (prctl PR_SET_NAME) may hold any byte but NUL.
func FuzzParseStat(f *testing.F) {
	for _, s := range []string{
		"2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 2 0 0 20 0 1 0 19 0 0 18446744073709551615 0 0 0 0 0 0 0 2147483647 0 1 0 0 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
		"77 (a) (b c) Z 1 77 77 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 12345 0 0\n",
		"77 ()) R 1 77 77 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 1",
		"77 (x) S 1 2", "(x) S", "x", "", "0 (x) S 1 1 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1",
		"77 (x) SS 1 1 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1", "77 (x) S 1 1 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 -1",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := parseStat(b)
		if err != nil {
			return
		}
		open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
		if st.pid <= 0 || st.comm != string(b[open+1:end]) {
			t.Fatalf("parseStat(%q) = %+v", b, st)
		}
	})
}

// FuzzParseStatus feeds parseStatus any /proc/PID/status.
func FuzzParseStatus(f *testing.F) {
	for _, s := range []string{
		"Name:\tx\nUid:\t0\t0\t0\t0\nGid:\t5\t5\t5\t5\nGroups:\t1 2 3 \n",
		"Uid:\t0\t0\t0\nGid:\t1\t1\t1\t1\n", "Groups:\t\n", "Uid:\t4294967296\t0\t0\t0\n", "Uid:", ":", "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := parseStatus(b)
		if err == nil && len(c.groups) > maxGroups {
			t.Fatalf("%d groups", len(c.groups))
		}
	})
}

// FuzzSplitNul checks that splitNul loses nothing but one final NUL, and,
// for a cut read, the unfinished string.
func FuzzSplitNul(f *testing.F) {
	for _, s := range []string{"a\x00b\x00", "a\x00\x00", "setproctitle", "", "\x00", "a\x00bc"} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, b []byte, cut bool) {
		got := splitNul(b, cut)
		want := b
		if cut {
			want = b[:bytes.LastIndexByte(b, 0)+1]
		}
		want = bytes.TrimSuffix(want, []byte{0})
		if j := strings.Join(got, "\x00"); j != string(want) {
			t.Fatalf("splitNul(%q, %v) = %q", b, cut, got)
		}
	})
}
