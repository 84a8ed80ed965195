package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"respawn/respawn"
)

// checkStartable refuses, before anything starts, the settings that could
// not be applied when the servers start: credentials or a negative
// niceness without root, a hard limit above respawn's own without
// CAP_SYS_RESOURCE (which root lacks in most containers), or
// above what the kernel allows), limits where the kernel will not let
// respawn trace its child, and env-files that cannot be read or parsed. A
// live upgrade skips the env-files, which are read again at each start:
// one that vanished must not refuse the upgrade of every server.
func checkStartable(groups []group, upgrading bool) error {
	root := os.Geteuid() == 0
	for i, g := range groups {
		if err := checkGroupStartable(&g.settings, root, upgrading); err != nil {
			return fmt.Errorf("server %d: %w", i+1, err)
		}
	}
	if upgrading {
		return nil // a command line that runs is not refused by a new image
	}
	return checkLogFiles(groups)
}

// checkLogFiles refuses a --log-file that is another server's, or one of
// its rotated files (PATH.N): each server counts and rotates its own file,
// so two writing one would pass --log-max and rename each other's. A live
// upgrade does not check it: the servers run already.
func checkLogFiles(groups []group) error {
	owner := map[string]int{}
	for i, g := range groups {
		if p := g.settings.LogFile; p != "" {
			if j, ok := owner[filepath.Clean(p)]; ok {
				return fmt.Errorf("server %d: --log-file=%s: server %d's too", i+1, p, j)
			}
			owner[filepath.Clean(p)] = i + 1
		}
	}
	for i, g := range groups {
		p := filepath.Clean(g.settings.LogFile)
		dot := strings.LastIndexByte(p, '.')
		if _, err := strconv.ParseUint(p[dot+1:], 10, 32); dot > 0 && err == nil && owner[p[:dot]] > 0 {
			return fmt.Errorf("server %d: --log-file=%s: a rotated file of server %d's", i+1, g.settings.LogFile, owner[p[:dot]])
		}
	}
	return nil
}

func checkGroupStartable(st *respawn.Settings, root, upgrading bool) error {
	if err := checkPrivilege(st, root); err != nil {
		return err
	}
	for _, l := range st.Limits {
		if err := checkLimit(l); err != nil {
			return err
		}
	}
	if len(st.Limits) > 0 {
		if err := checkTraceable(root); err != nil {
			return err
		}
	}
	if upgrading {
		return nil
	}
	for _, path := range st.EnvFiles {
		if _, err := respawn.ReadEnvFile(path); err != nil {
			// "respawn: env file PATH: CAUSE": the path is in the setting.
			return fmt.Errorf("--env-file=%s: %w", path, errors.Unwrap(errors.Unwrap(err)))
		}
	}
	return nil
}

// checkPrivilege refuses what only root may do.
func checkPrivilege(st *respawn.Settings, root bool) error {
	if root {
		return nil
	}
	switch {
	case st.User != "":
		return fmt.Errorf("--user=%s needs respawn to run as root", st.User)
	case st.Group != "":
		return fmt.Errorf("--group=%s needs respawn to run as root", st.Group)
	case st.GroupsSet:
		return errors.New("--groups needs respawn to run as root")
	case st.NiceSet && st.Nice < 0:
		return fmt.Errorf("--nice=%d needs respawn to run as root", st.Nice)
	}
	return nil
}

// checkLimit refuses a hard limit respawn could not give.
func checkLimit(l respawn.Limit) error {
	name := limitSetting(l.Resource)
	if l.Resource == unix.RLIMIT_NOFILE && l.Max != unix.RLIM_INFINITY {
		if open := nrOpen(); open > 0 && l.Max > open {
			return fmt.Errorf("--%s=%d: above the kernel's fs.nr_open (%d)", name, l.Max, open)
		}
	}
	if l.Resource == unix.RLIMIT_NOFILE && l.Max == unix.RLIM_INFINITY {
		return fmt.Errorf("--%s: the kernel refuses unlimited open files", name)
	}
	if hasCapability(capSysResource) {
		return nil
	}
	var own unix.Rlimit
	if err := unix.Getrlimit(l.Resource, &own); err != nil {
		return fmt.Errorf("--%s: %w", name, os.NewSyscallError("getrlimit", err))
	}
	if l.Max > own.Max {
		return fmt.Errorf("--%s: the hard limit %s is above respawn's own (%s), which only a respawn with CAP_SYS_RESOURCE may raise", name, limitText(l.Max), limitText(own.Max))
	}
	return nil
}

// checkTraceable refuses limits where Yama forbids respawn to trace its
// child, which is how they are set (see respawn/limits_linux.go).
func checkTraceable(root bool) error {
	b, err := os.ReadFile("/proc/sys/kernel/yama/ptrace_scope")
	if err != nil {
		return nil // no Yama: tracing a child is allowed
	}
	scope := strings.TrimSpace(string(b))
	if scope == "3" || scope == "2" && !root {
		return fmt.Errorf("resource limits are set by tracing the child, which kernel.yama.ptrace_scope=%s forbids here", scope)
	}
	return nil
}

// nrOpen is the kernel's bound on RLIMIT_NOFILE, or 0 if unknown.
func nrOpen() uint64 {
	b, err := os.ReadFile("/proc/sys/fs/nr_open")
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	return n
}

func limitSetting(res int) string {
	for name, r := range limitNames {
		if r == res {
			return name
		}
	}
	return strconv.Itoa(res)
}

func limitText(v uint64) string {
	if v == unix.RLIM_INFINITY {
		return "unlimited"
	}
	return strconv.FormatUint(v, 10)
}

// capSysResource is CAP_SYS_RESOURCE's bit in /proc/self/status.
const capSysResource = 24

// hasCapability reports whether respawn has the capability bit in its
// effective set.
func hasCapability(bit uint) bool {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			m, _ := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return m&(1<<bit) != 0
		}
	}
	return false
}
