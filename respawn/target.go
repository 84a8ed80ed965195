package respawn

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
)

// ErrUnknownTarget is matched (errors.Is) by the error for a name or
// index that addresses nothing.
var ErrUnknownTarget = errors.New("respawn: no such server or task")

// targetError is an unknown target, said in a person's words.
type targetError struct{ msg string }

func (e *targetError) Error() string        { return "respawn: " + e.msg }
func (e *targetError) Is(target error) bool { return target == ErrUnknownTarget }

func unknownf(format string, a ...any) error { return &targetError{fmt.Sprintf(format, a...)} }

// find returns the record addressed by target, or nil. A target of
// digits only is a server's index, never a name: tasks have no index an
// operator uses, so that adding one never renumbers anything (a snapshot
// from an older image may hold a numeric name: it is reached by its
// index). Any other target is a name, or else the program of exactly one
// server (nginx for /usr/sbin/nginx, when no other server runs it).
func (s *Supervisor) find(target string) *Server {
	if allDigits(target) {
		i, err := strconv.Atoi(target)
		if err == nil && i >= 1 && i <= len(s.recs) && s.recs[i-1].task == nil {
			return s.recs[i-1]
		}
		return nil
	}
	if r := s.byName[target]; r != nil {
		return r
	}
	return s.byProgram(target)
}

// byProgram returns the one server whose program's base name is prog, or
// nil if none or several are.
func (s *Supervisor) byProgram(prog string) *Server {
	var found *Server
	for _, r := range s.recs {
		if r.task != nil || filepath.Base(r.Argv[0]) != prog {
			continue
		}
		if found != nil {
			return nil
		}
		found = r
	}
	return found
}

// unknown is the error for a target that addresses nothing: it names the
// range of indexes, or the closest name if one is close enough to be a
// typo.
func (s *Supervisor) unknown(target string) error {
	if allDigits(target) {
		n := s.count(false)
		if n == 0 {
			return unknownf("no server %s: there are no servers", clipTarget(target))
		}
		return unknownf("no server %s: servers are numbered 1 to %d", clipTarget(target), n)
	}
	if near := s.nearest(target); near != "" {
		return unknownf("no such server %q; did you mean %q?", clipTarget(target), near)
	}
	return unknownf("no such server %q", clipTarget(target))
}

// lookup is find, or the error that says why target addresses nothing.
func (s *Supervisor) lookup(target string) (*Server, error) {
	if r := s.find(target); r != nil {
		return r, nil
	}
	return nil, s.unknown(target)
}

// nearest returns the name of a server or task within a small edit
// distance of target (a third of its length, at least 1, at most 3), the
// closest one first in index order; "" if none is.
func (s *Supervisor) nearest(target string) string {
	if len(target) > maxName {
		return ""
	}
	limit := min(max(len(target)/3, 1), 3)
	best, bestD := "", limit+1
	for _, r := range s.recs {
		if d := editDistance(target, r.Name, bestD); d < bestD {
			best, bestD = r.Name, d
		}
	}
	return best
}

// editDistance is the number of one-byte insertions, deletions,
// substitutions and swaps of neighbours that turn a into b (the optimal
// string alignment distance), or any value >= bound once it is sure to be
// at least bound.
func editDistance(a, b string, bound int) int {
	if d := len(a) - len(b); d >= bound || -d >= bound {
		return bound
	}
	pp := make([]int, len(b)+1) // row i-2
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], pp[j-2]+1)
			}
			rowMin = min(rowMin, cur[j])
		}
		if rowMin >= bound {
			return bound
		}
		pp, prev, cur = prev, cur, pp
	}
	return prev[len(b)]
}

// clipTarget shortens a target for a message.
func clipTarget(t string) string {
	if len(t) > maxName {
		return t[:maxName] + "..."
	}
	return t
}
