package main

import (
	"errors"
	"fmt"
	"math"
	"os/user"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"respawn/respawn"
)

// A group's settings are the words --KEY=VALUE right after "{" or
// "@NAME", up to the first word that does not start with "-" (the
// program) or a word "--" (which ends them; a program whose name starts
// with "-" needs it). Every mistake is refused before anything starts.

// setting parses one setting's value into st.
type setting struct {
	parse  func(st *respawn.Settings, v string) error
	repeat bool // may be given more than once (the values add up)
	bare   bool // may be given without a value (--ready): parse gets ""
}

var settings map[string]setting

func init() {
	settings = map[string]setting{
		"stop-signal":   {parse: func(st *respawn.Settings, v string) (err error) { st.StopSignal, err = parseSignal(v); return }},
		"stop-timeout":  {parse: parseStopTimeout},
		"kill-mode":     {parse: parseKillMode},
		"reload-signal": {parse: func(st *respawn.Settings, v string) (err error) { st.ReloadSignal, err = parseSignal(v); return }},
		"retries":       {parse: parseRetries},
		"user":          {parse: parseUser},
		"group":         {parse: parseGroupSetting},
		"groups":        {parse: parseGroupsSetting},
		"cwd":           {parse: parseCwd},
		"env":           {parse: parseEnv, repeat: true},
		"unset-env":     {parse: parseUnsetEnv, repeat: true},
		"env-file":      {parse: parseEnvFileSetting, repeat: true},
		"umask":         {parse: parseUmask},
		"nice":          {parse: parseNice},
		"output":        {parse: func(st *respawn.Settings, v string) (err error) { st.Output, err = parseOutput(v); return }},
		"log-file":      {parse: parseLogFile},
		"log-max":       {parse: parseLogMax},
		"log-keep":      {parse: parseLogKeep},
		"ready":         {parse: parseReady, bare: true},
		"watchdog":      {parse: parseWatchdog},
	}
	for name, res := range limitNames {
		settings[name] = setting{parse: limitParser(res)}
	}
}

// limitNames are the resource limit settings, as setrlimit names them.
var limitNames = respawn.LimitNames

// parseSettings parses the settings at the start of words and returns the
// words that remain: the program and its arguments.
func parseSettings(words []string) (respawn.Settings, []string, error) {
	st := respawn.Settings{}
	seen := map[string]bool{}
	for len(words) > 0 {
		w := words[0]
		if w == "--" {
			return st, words[1:], nil
		}
		if !strings.HasPrefix(w, "-") {
			break
		}
		key, val, ok := strings.Cut(strings.TrimPrefix(w, "--"), "=")
		def, known := settings[key]
		switch {
		case !strings.HasPrefix(w, "--") || !known:
			return st, nil, fmt.Errorf("unknown setting %q (settings are --KEY=VALUE before the program; a program whose name starts with '-' needs '--' before it)", w)
		case !ok && !def.bare:
			return st, nil, fmt.Errorf("setting --%s needs a value: --%s=VALUE", key, key)
		case seen[key] && !def.repeat:
			return st, nil, fmt.Errorf("setting --%s given twice", key)
		}
		seen[key] = true
		if err := def.parse(&st, val); err != nil {
			return st, nil, fmt.Errorf("--%s=%s: %w", key, val, err)
		}
		words = words[1:]
	}
	return st, words, checkSettings(&st)
}

// checkSettings refuses combinations that cannot work.
func checkSettings(st *respawn.Settings) error {
	if st.LogFile == "" && (st.LogMax != 0 || st.LogKeep != 0) {
		return errors.New("--log-max and --log-keep need --log-file")
	}
	return nil
}

// parseSignal reads a signal by name (QUIT or SIGQUIT, any case) or number.
func parseSignal(v string) (syscall.Signal, error) {
	if n, err := strconv.Atoi(v); err == nil {
		if n < 1 || n > 64 {
			return 0, errors.New("no such signal")
		}
		return syscall.Signal(n), nil
	}
	name := strings.ToUpper(v)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	sig := unix.SignalNum(name)
	if sig == 0 {
		return 0, errors.New("no such signal")
	}
	return sig, nil
}

func parseStopTimeout(st *respawn.Settings, v string) error {
	var d seconds
	if err := d.Set(v); err != nil {
		return err
	}
	st.StopTimeout = time.Duration(d)
	if d == 0 {
		st.StopTimeout = respawn.StopAtOnce
	}
	return nil
}

func parseKillMode(st *respawn.Settings, v string) error {
	switch v {
	case "group":
		st.KillMode = respawn.KillGroup
	case "pid":
		st.KillMode = respawn.KillPid
	case "mixed":
		st.KillMode = respawn.KillMixed
	default:
		return errors.New("want group, pid or mixed")
	}
	return nil
}

// maxRetries bounds --retries: more would never bury a crash-looper.
const maxRetries = 1000

func parseRetries(st *respawn.Settings, v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > maxRetries {
		return fmt.Errorf("want a number from 0 to %d", maxRetries)
	}
	st.Retries, st.RetriesSet = n, true
	return nil
}

func parseOutput(v string) (respawn.Output, error) {
	switch v {
	case "inherit":
		return respawn.OutputInherit, nil
	case "capture":
		return respawn.OutputCapture, nil
	}
	return 0, errors.New("want inherit or capture")
}

// parseUser resolves a user name or uid. The user's primary group and
// supplementary groups apply unless --group or --groups says otherwise.
func parseUser(st *respawn.Settings, v string) error {
	u, err := lookupUser(v)
	if err != nil {
		return err
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	st.User, st.UID = v, uint32(uid)
	if st.Group == "" {
		st.GID = uint32(gid)
	}
	if !st.GroupsSet {
		st.Groups, err = userGroups(u)
	}
	return err
}

// lookupUser finds a user by name, or by number when v is one: a number
// without a passwd entry is taken as it is, as setpriv does.
func lookupUser(v string) (*user.User, error) {
	if n, err := strconv.ParseUint(v, 10, 32); err == nil {
		if n == noID {
			return nil, errNoID
		}
		u, err := user.LookupId(v)
		if err != nil {
			return &user.User{Uid: v, Gid: strconv.FormatUint(n, 10), Username: v}, nil
		}
		return u, nil
	}
	u, err := user.Lookup(v)
	if err != nil {
		return nil, fmt.Errorf("no such user")
	}
	return u, nil
}

// userGroups are u's supplementary groups, as initgroups would set them.
func userGroups(u *user.User) ([]uint32, error) {
	ids, err := u.GroupIds()
	if err != nil {
		return nil, nil // a numeric uid without an entry: its own gid only
	}
	gs := make([]uint32, 0, len(ids))
	for _, id := range ids {
		n, err := strconv.ParseUint(id, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("group id %q of user %s", id, u.Username)
		}
		gs = append(gs, uint32(n))
	}
	return gs, nil
}

func parseGroupSetting(st *respawn.Settings, v string) error {
	gid, err := lookupGroup(v)
	if err != nil {
		return err
	}
	st.Group, st.GID = v, gid
	return nil
}

// parseGroupsSetting reads a comma-separated list of groups; an empty
// value clears the supplementary groups.
func parseGroupsSetting(st *respawn.Settings, v string) error {
	st.Groups, st.GroupsSet = []uint32{}, true
	if v == "" {
		return nil
	}
	for _, g := range strings.Split(v, ",") {
		gid, err := lookupGroup(g)
		if err != nil {
			return fmt.Errorf("%s: %w", g, err)
		}
		st.Groups = append(st.Groups, gid)
	}
	return nil
}

// noID is (uid_t)-1 and (gid_t)-1, which the set*id system calls take
// for "leave unchanged": no process can have it.
const noID = 1<<32 - 1

var errNoID = errors.New("4294967295 is (uid_t)-1, not an id")

// lookupGroup resolves a group name or number.
func lookupGroup(v string) (uint32, error) {
	if n, err := strconv.ParseUint(v, 10, 32); err == nil {
		if n == noID {
			return 0, errNoID
		}
		return uint32(n), nil
	}
	g, err := user.LookupGroup(v)
	if err != nil {
		return 0, errors.New("no such group")
	}
	n, err := strconv.ParseUint(g.Gid, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("group id %q", g.Gid)
	}
	return uint32(n), nil
}

func parseCwd(st *respawn.Settings, v string) error {
	if !strings.HasPrefix(v, "/") {
		return errors.New("want an absolute path")
	}
	var fi unix.Stat_t
	if err := unix.Stat(v, &fi); err != nil {
		return err
	}
	if fi.Mode&unix.S_IFMT != unix.S_IFDIR {
		return errors.New("not a directory")
	}
	st.Cwd = v
	return nil
}

func parseEnv(st *respawn.Settings, v string) error {
	key, _, ok := strings.Cut(v, "=")
	if !ok || !envKey(key) {
		return errors.New("want KEY=VALUE")
	}
	st.Env = append(st.Env, v)
	return nil
}

func parseUnsetEnv(st *respawn.Settings, v string) error {
	if !envKey(v) {
		return errors.New("want a variable name")
	}
	st.UnsetEnv = append(st.UnsetEnv, v)
	return nil
}

// envKey reports whether k is a name a shell would take for a variable.
func envKey(k string) bool { return respawn.EnvKey(k) }

func parseEnvFileSetting(st *respawn.Settings, v string) error {
	if !strings.HasPrefix(v, "/") {
		return errors.New("want an absolute path")
	}
	st.EnvFiles = append(st.EnvFiles, v)
	return nil
}

func parseUmask(st *respawn.Settings, v string) error {
	n, err := strconv.ParseUint(v, 8, 32)
	if err != nil || n > 0o777 {
		return errors.New("want an octal mask from 000 to 777")
	}
	st.Umask, st.UmaskSet = uint32(n), true
	return nil
}

func parseNice(st *respawn.Settings, v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < -20 || n > 19 {
		return errors.New("want a number from -20 to 19")
	}
	st.Nice, st.NiceSet = n, true
	return nil
}

func parseLogFile(st *respawn.Settings, v string) error {
	if !strings.HasPrefix(v, "/") {
		return errors.New("want an absolute path")
	}
	st.LogFile = v
	return nil
}

func parseLogMax(st *respawn.Settings, v string) error {
	n, err := parseSize(v)
	if err != nil || n < 4096 {
		return errors.New("want a size of at least 4096 bytes, like 10M")
	}
	st.LogMax = int64(n)
	return nil
}

func parseLogKeep(st *respawn.Settings, v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1000 {
		return errors.New("want a number from 1 to 1000")
	}
	st.LogKeep = n
	return nil
}

// limitParser parses a resource limit: N (soft and hard), SOFT:HARD, with
// "unlimited" for either, and sizes like 64M for the byte limits.
func limitParser(res int) func(*respawn.Settings, string) error {
	return func(st *respawn.Settings, v string) error {
		soft, hard, pair := strings.Cut(v, ":")
		cur, err := parseLimit(soft)
		if err != nil {
			return err
		}
		max := cur
		if pair {
			if max, err = parseLimit(hard); err != nil {
				return err
			}
		}
		if cur > max {
			return errors.New("the soft limit is above the hard limit")
		}
		st.Limits = append(st.Limits, respawn.Limit{Resource: res, Cur: cur, Max: max})
		return nil
	}
}

func parseLimit(v string) (uint64, error) {
	if v == "unlimited" || v == "infinity" {
		return unix.RLIM_INFINITY, nil
	}
	n, err := parseSize(v)
	if err != nil {
		return 0, errors.New("want a number, a size like 64M, or unlimited")
	}
	return n, nil
}

// parseSize reads a count of bytes with an optional K, M or G suffix
// (powers of 1024).
func parseSize(v string) (uint64, error) {
	mult := uint64(1)
	if n := len(v); n > 0 {
		switch v[n-1] {
		case 'k', 'K':
			mult = 1 << 10
		case 'm', 'M':
			mult = 1 << 20
		case 'g', 'G':
			mult = 1 << 30
		}
		if mult > 1 {
			v = v[:n-1]
		}
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || n > math.MaxUint64/mult {
		return 0, errors.New("bad size")
	}
	return n * mult, nil
}
