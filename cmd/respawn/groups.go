package main

import (
	"errors"
	"fmt"
	"strings"

	"respawn/respawn"
)

// group is one server as given on the command line:
// { [@NAME] [--KEY=VALUE...] [--] CMD ARG... }.
type group struct {
	name     string
	settings respawn.Settings
	argv     []string
}

// maxGroupArgs bounds one command line; execve refuses far less anyway.
const maxGroupArgs = 1 << 16

var errNoGroup = errors.New("no server given: usage is respawn [flags] { CMD ARG... } [{ CMD ARG... } ...]")

// parseGroups splits the arguments after the flags into brace groups, as
// mds-respawn does: "{" and "}" are words of their own; braces nested
// inside a group are arguments of that server. An optional first word
// "@NAME" names the server. Every problem is refused before anything
// starts.
func parseGroups(args []string) ([]group, error) {
	var groups []group
	for i := 0; i < len(args); {
		if args[i] == "}" {
			return nil, fmt.Errorf("stray '}' at argument %d", i+1)
		}
		if args[i] != "{" {
			return nil, fmt.Errorf("argument %q is outside any { } group", args[i])
		}
		g, next, err := parseGroup(args, i, len(groups)+1)
		if err != nil {
			return nil, err
		}
		groups = append(groups, g)
		i = next
	}
	if len(groups) == 0 {
		return nil, errNoGroup
	}
	return groups, checkNames(groups)
}

// parseGroup parses the group whose "{" is args[open]; it returns the group
// and the index after its closing "}".
func parseGroup(args []string, open, n int) (group, int, error) {
	depth := 1
	for j := open + 1; j < len(args); j++ {
		switch args[j] {
		case "{":
			depth++
		case "}":
			depth--
		}
		if depth == 0 {
			g, err := newGroup(args[open+1:j], n)
			return g, j + 1, err
		}
		if j-open > maxGroupArgs {
			return group{}, 0, fmt.Errorf("server %d: more than %d arguments", n, maxGroupArgs)
		}
	}
	return group{}, 0, fmt.Errorf("server %d: unterminated group, missing '}'", n)
}

func newGroup(words []string, n int) (group, error) {
	var g group
	if len(words) > 0 && len(words[0]) > 0 && words[0][0] == '@' {
		g.name = words[0][1:]
		if err := checkName(g.name); err != nil {
			return g, fmt.Errorf("server %d: %w", n, err)
		}
		words = words[1:]
	}
	st, words, err := parseSettings(words)
	if err != nil {
		return g, fmt.Errorf("server %d: %w", n, err)
	}
	g.settings = st
	if len(words) == 0 {
		return g, fmt.Errorf("server %d: empty group { }", n)
	}
	if words[0] == "" {
		return g, fmt.Errorf("server %d: empty program name", n)
	}
	g.argv = append([]string(nil), words...)
	return g, nil
}

// checkName accepts names that a shell and respawnctl pass around without
// quoting, and that are not indexes.
func checkName(name string) error {
	if name == "" || len(name) > 64 {
		return fmt.Errorf("name %q: must be 1 to 64 characters", name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return fmt.Errorf("name %q: only letters, digits, '-', '_' and '.'", name)
		}
	}
	if numeric(name) {
		return fmt.Errorf("name %q: a number would read as an index", name)
	}
	return nil
}

// numeric reports whether name is digits, with or without a sign, of any
// length: respawnctl reads a target of digits as an index even when it is
// too big for an int.
func numeric(name string) bool {
	digits := strings.TrimLeft(name, "+-")
	return len(name)-len(digits) <= 1 && digits != "" && strings.Trim(digits, "0123456789") == ""
}

func checkNames(groups []group) error {
	seen := map[string]int{}
	for i, g := range groups {
		if g.name == "" {
			continue
		}
		if j, ok := seen[g.name]; ok {
			return fmt.Errorf("servers %d and %d are both named %q", j, i+1, g.name)
		}
		seen[g.name] = i + 1
	}
	return nil
}
