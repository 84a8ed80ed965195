package watch

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Bounds of an armourd configuration file.
const (
	MaxFileBytes = 1 << 20
	MaxFileRules = 4096
)

// ParseArmourd reads armourd's configuration format: one executable path
// or glob a line, '#' to the end of a line is a comment, blank lines
// skipped. Each line is a RuleExe with action; the error names the file
// and line. Bounded: at most MaxFileBytes and MaxFileRules.
//
// It reads what armourd's own parser reads (src/config.c of
// github.com/moleike/armourd, armour_config_read): entries are separated
// by white space, so several on a line are several entries; '#' where an
// entry would start comments out the rest of the line (inside a path it
// is part of the path); an entry is an absolute path, a glob allowed; an
// entry may be followed by a block of options, "{ pidfile: /run/x.pid
// command: "..." notify: ... }", which armourd parses and discards, and
// so does respawn (a tag other than those three is an error, as it is
// for armourd). An entry that repeats one before is dropped. Where
// armourd skips a bad entry silently (a relative path, a bad glob), this
// is an error: a bad rule is refused before anything starts.
//
// One difference, on purpose: armourd expands a glob once, when it reads
// the file, to the executables present then; a rule matches it at every
// exec, so a program installed later is watched too.
func ParseArmourd(name string, data []byte, action Action) ([]Rule, error) {
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("watch: %s: over %d bytes", name, MaxFileBytes)
	}
	s := &confScanner{name: name, data: data, line: 1}
	var rules []Rule
	seen := map[string]bool{}
	for s.skip(); s.i < len(s.data); s.skip() {
		r, err := s.entry(action)
		if err != nil {
			return nil, err
		}
		if seen[r.Pattern] {
			continue
		}
		if len(rules) == MaxFileRules {
			return nil, s.errorf("over %d entries", MaxFileRules)
		}
		seen[r.Pattern] = true
		rules = append(rules, r)
	}
	return rules, nil
}

// confScanner reads an armourd configuration file.
type confScanner struct {
	name string
	data []byte
	i    int // the next byte
	line int // the line of the next byte, from 1
}

func (s *confScanner) errorf(format string, args ...any) error {
	return fmt.Errorf("watch: %s:%d: "+format, append([]any{s.name, s.line}, args...)...)
}

// entry reads one path and its block of options, if any.
func (s *confScanner) entry(action Action) (Rule, error) {
	p := s.word("{")
	r := Rule{Kind: RuleExe, Pattern: p, Action: action, File: s.name}
	if err := r.check(); err != nil {
		return Rule{}, s.errorf("%q: %w", clip(p), err)
	}
	s.skip()
	if s.i < len(s.data) && s.data[s.i] == '{' {
		if err := s.options(); err != nil {
			return Rule{}, err
		}
	}
	return r, nil
}

// options reads a block "{ tag: value ... }", whose tags are armourd's,
// and discards it as armourd does. A value is one word, or a quoted
// string in which a backslash escapes the next byte.
func (s *confScanner) options() error {
	start := s.line
	s.i++ // the '{'
	for s.skip(); s.i < len(s.data) && s.data[s.i] != '}'; s.skip() {
		tag := s.word(":}")
		switch tag {
		case "pidfile", "command", "notify":
		default:
			return s.errorf("unknown option %q: armourd's are pidfile, command and notify", clip(tag))
		}
		s.skipBlanks()
		if s.i >= len(s.data) || s.data[s.i] != ':' {
			return s.errorf("option %s: want \"%s: VALUE\"", tag, tag)
		}
		s.i++
		s.skipBlanks()
		if err := s.value(tag); err != nil {
			return err
		}
	}
	if s.i >= len(s.data) {
		s.line = start
		return s.errorf("'{' without its '}'")
	}
	s.i++
	return nil
}

// value reads an option's value.
func (s *confScanner) value(tag string) error {
	if s.i < len(s.data) && s.data[s.i] == '"' {
		start := s.line
		for s.i++; s.i < len(s.data) && s.data[s.i] != '"'; s.i++ {
			if s.data[s.i] == '\\' && s.i+1 < len(s.data) {
				s.i++
			}
			if s.data[s.i] == '\n' {
				s.line++
			}
		}
		if s.i >= len(s.data) {
			s.line = start
			return s.errorf("option %s: '\"' without its end", tag)
		}
		s.i++
		return nil
	}
	if s.word("}") == "" {
		return s.errorf("option %s: no value", tag)
	}
	return nil
}

// word reads bytes up to white space, the end, or one of stop.
func (s *confScanner) word(stop string) string {
	start := s.i
	for s.i < len(s.data) && !isSpace(s.data[s.i]) && strings.IndexByte(stop, s.data[s.i]) < 0 {
		s.i++
	}
	return string(s.data[start:s.i])
}

// skip passes white space and comments.
func (s *confScanner) skip() {
	for s.i < len(s.data) {
		switch c := s.data[s.i]; {
		case c == '#':
			for s.i < len(s.data) && s.data[s.i] != '\n' {
				s.i++
			}
		case isSpace(c):
			s.skipBlanks()
			if s.i < len(s.data) && s.data[s.i] == '\n' {
				s.line++
				s.i++
			}
		default:
			return
		}
	}
}

// skipBlanks passes white space but a newline.
func (s *confScanner) skipBlanks() {
	for s.i < len(s.data) && isSpace(s.data[s.i]) && s.data[s.i] != '\n' {
		s.i++
	}
}

// isSpace is C's isspace in the C locale, as armourd reads.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// ReadArmourd opens and parses FILE (no more than MaxFileBytes read). It
// refuses a file that is not a regular one (a FIFO is not even waited
// on). As armourd does, an entry that is no glob and names a symbolic
// link is watched as the file the link resolves to, which is what
// /proc/PID/exe shows.
func ReadArmourd(name string, action Action) ([]Rule, error) {
	f, err := os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("watch: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil {
		return nil, fmt.Errorf("watch: %w", err)
	} else if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("watch: %s: not a regular file", name)
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("watch: %w", err)
	}
	rules, err := ParseArmourd(name, b, action)
	if err != nil {
		return nil, err
	}
	return resolveLinks(rules), nil
}

// resolveLinks replaces each rule's path that is a symbolic link with its
// target, dropping a rule that repeats another then.
func resolveLinks(rules []Rule) []Rule {
	out := rules[:0]
	seen := map[string]bool{}
	for _, r := range rules {
		if !strings.ContainsAny(r.Pattern, `*?[\`) {
			if real, err := filepath.EvalSymlinks(r.Pattern); err == nil && filepath.IsAbs(real) {
				r.Pattern = real
			}
		}
		if !seen[r.Pattern] {
			seen[r.Pattern] = true
			out = append(out, r)
		}
	}
	return out
}
