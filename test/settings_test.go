//go:build linux

package test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func init() { moreHelpers["rlimit"] = rlimitHelper }

// rlimitHelper ("rlimit FILE") writes its RLIMIT_MEMLOCK as it starts, as
// "CUR MAX", then sleeps: what the program saw before doing anything.
func rlimitHelper(args []string) int {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_MEMLOCK, &lim); err != nil {
		return 98
	}
	appendLine(args[0], fmt.Sprintf("%d %d", lim.Cur, lim.Max))
	return pause()
}

// openDir is a fresh directory that any user may enter, removed at the
// end of the test (t.TempDir's are root's alone).
func openDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "respawn-settings")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// procStatus is the value of field in /proc/PID/status, blanks trimmed.
func procStatus(t *testing.T, pid int, field string) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strings.Join(strings.Fields(v), " ")
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return ""
}

// procEnviron is the environment of pid as /proc/PID/environ shows it.
func procEnviron(t *testing.T, pid int) map[string]string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, kv := range strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00") {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	return env
}

// procNice is the nice field (the 19th) of /proc/PID/stat.
func procNice(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	n, err := strconv.Atoi(f[19-3])
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// procLimit is "SOFT HARD" of the line of /proc/PID/limits named name.
func procLimit(t *testing.T, pid int, name string) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name); ok && strings.HasPrefix(v, "  ") {
			f := strings.Fields(v)
			return f[0] + " " + f[1]
		}
	}
	t.Fatalf("no %q in /proc/%d/limits", name, pid)
	return ""
}

// Every setting is what a user sees in /proc of the running server: at
// its first start, at a restart (with the env-file read again), and at a
// start by the image a live upgrade put in place. The server runs as
// nobody.
func TestSettingsAppliedAtEveryStart(t *testing.T) {
	dir := openDir(t)
	envFile := filepath.Join(dir, "env")
	writeEnv := func(gen string) {
		body := "# settings test\nexport FROM_FILE=" + gen + "\nQUOTED='a b'\nOVER=file\n"
		if err := os.WriteFile(envFile, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeEnv("one")
	t.Setenv("RESPAWN_TEST_UNSET", "inherited")
	t.Setenv("RESPAWN_TEST_KEPT", "inherited")
	s := begin(t, "--interval=100ms", "{", "@s", "--user=nobody", "--cwd="+dir,
		"--env=A=1", "--env=OVER=flag", "--unset-env=RESPAWN_TEST_UNSET", "--env-file="+envFile,
		"--umask=027", "--nice=5", "--nofile=1000:2000", "--nproc=500:600", "--core=0",
		"--as=1G", "--memlock=64K", "sleep", "1000", "}")
	nice, ownUmask := min(procNice(t, s.Pid)+5, 19), procStatus(t, s.Pid, "Umask")
	check := func(n int, gen string) {
		t.Helper()
		pid := attr(s.waitLog(n, msg("ALIVE", "server", 1)), "pid")
		for _, c := range [][2]string{
			{procStatus(t, pid, "Uid"), "65534 65534 65534 65534"},
			{procStatus(t, pid, "Gid"), "65534 65534 65534 65534"},
			{procStatus(t, pid, "Groups"), "65534"},
			{procStatus(t, pid, "Umask"), "0027"},
			{strconv.Itoa(procNice(t, pid)), strconv.Itoa(nice)},
			{procLimit(t, pid, "Max open files"), "1000 2000"},
			{procLimit(t, pid, "Max processes"), "500 600"},
			{procLimit(t, pid, "Max core file size"), "0 0"},
			{procLimit(t, pid, "Max address space"), "1073741824 1073741824"},
			{procLimit(t, pid, "Max locked memory"), "65536 65536"},
		} {
			if c[0] != c[1] {
				t.Errorf("start %d: /proc/%d shows %q, want %q", n, pid, c[0], c[1])
			}
		}
		if cwd, _ := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid)); cwd != dir {
			t.Errorf("start %d: cwd %q, want %q", n, cwd, dir)
		}
		env := procEnviron(t, pid)
		want := map[string]string{"A": "1", "OVER": "flag", "FROM_FILE": gen, "QUOTED": "a b", "RESPAWN_TEST_KEPT": "inherited"}
		for k, v := range want {
			if env[k] != v {
				t.Errorf("start %d: %s=%q in the environment, want %q", n, k, env[k], v)
			}
		}
		if v, ok := env["RESPAWN_TEST_UNSET"]; ok {
			t.Errorf("start %d: RESPAWN_TEST_UNSET=%q, want it unset", n, v)
		}
	}
	restart := func(n int, gen string) {
		t.Helper()
		writeEnv(gen)
		waitLived(t, s, 1, 100e6)
		killWait(t, s.pidOf(1))
		check(n, gen)
	}
	check(1, "one")
	restart(2, "two")
	s.upgrade(1)
	check(2, "two") // the same process, adopted
	restart(3, "three")
	if u, n := procStatus(t, s.Pid, "Umask"), procNice(t, s.Pid); u != ownUmask || n != nice-5 {
		t.Errorf("respawn itself runs with umask %s and niceness %d, want %s and %d", u, n, ownUmask, nice-5)
	}
	s.stop()
}

// The credential settings follow setpriv: --user alone takes the user's
// group and supplementary groups, --group and --groups replace them,
// --group alone keeps respawn's supplementary groups. A program given by
// a relative path is found from the server's working directory.
func TestSettingsCredentials(t *testing.T) {
	dir := openDir(t)
	if err := os.Symlink("/bin/sleep", filepath.Join(dir, "prog")); err != nil {
		t.Fatal(err)
	}
	s := begin(t,
		"{", "--user=daemon", "sleep", "1000", "}",
		"{", "--user=nobody", "--group=daemon", "--groups=adm,users", "sleep", "1000", "}",
		"{", "--group=daemon", "sleep", "1000", "}",
		"{", "--user=65000", "--cwd="+dir, "./prog", "1000", "}")
	own := procStatus(t, s.Pid, "Groups")
	for i, want := range [][3]string{
		{"1 1 1 1", "1 1 1 1", "1"},
		{"65534 65534 65534 65534", "1 1 1 1", "4 100"},
		{"0 0 0 0", "1 1 1 1", own},
		{"65000 65000 65000 65000", "65000 65000 65000 65000", "65000"}, // initgroups adds the user's group
	} {
		pid := attr(s.waitLog(1, msg("ALIVE", "server", i+1)), "pid")
		got := [3]string{procStatus(t, pid, "Uid"), procStatus(t, pid, "Gid"), procStatus(t, pid, "Groups")}
		if got != want {
			t.Errorf("server %d: Uid, Gid, Groups %q, want %q", i+1, got, want)
		}
	}
	pid := attr(s.waitLog(1, msg("ALIVE", "server", 4)), "pid")
	if cwd, _ := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid)); cwd != dir {
		t.Errorf("server 4: cwd %q, want %q", cwd, dir)
	}
	s.stop()
}

// A server's resource limits are in place before its program runs its
// first instruction, not set on it once it runs.
func TestSettingsLimitsBeforeTheProgramRuns(t *testing.T) {
	var own unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_MEMLOCK, &own); err != nil {
		t.Fatal(err)
	}
	want := min(own.Max, 1<<20) / 2
	file := tempFile(t, "rlimit")
	s := begin(t, "{", fmt.Sprintf("--memlock=%d", want), selfBin, "helper", "rlimit", file, "}")
	if got := waitLines(t, file, 1)[0]; got != fmt.Sprintf("%d %d", want, want) {
		t.Errorf("the program saw RLIMIT_MEMLOCK %q at its start, want %d %d", got, want, want)
	}
	s.stop()
}

// An env-file is read at each start: one gone by a restart buries the
// server with an error that names it; put back, a revive reads it again.
func TestSettingsEnvFileAtEachStart(t *testing.T) {
	envFile := tempFile(t, "env")
	if err := os.WriteFile(envFile, []byte("X=1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := begin(t, "--interval=100ms", "{", "--env-file="+envFile, "sleep", "1000", "}")
	s.waitLog(1, msg("ALIVE", "server", 1))
	if err := os.Remove(envFile); err != nil {
		t.Fatal(err)
	}
	waitLived(t, s, 1, 100e6)
	killWait(t, s.pidOf(1))
	l := s.waitLog(1, msg("BURIED", "server", 1))
	if e, _ := l["error"].(string); !strings.Contains(e, "env file "+envFile+": no such file or directory") {
		t.Errorf("buried with %q, want the env-file named and why", e)
	}
	if err := os.WriteFile(envFile, []byte("X=2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.signal(unix.SIGUSR2)
	pid := attr(s.waitLog(2, msg("ALIVE", "server", 1)), "pid")
	// Until the kernel has laid out the new image's stack, /proc shows
	// an empty environment (or the parent's), though respawn has seen
	// the exec succeed: read until the program runs.
	eventually(t, "sleep running", func() bool { return strings.HasPrefix(cmdline(pid), "sleep") })
	if x := procEnviron(t, pid)["X"]; x != "2" {
		t.Errorf("X=%q after the revive, want 2", x)
	}
	s.stop()
}

// Settings that cannot work are refused before anything starts, in one
// line, with exit status 2.
func TestSettingsRefusedBeforeStart(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.env")
	if err := os.WriteFile(bad, []byte("A=1\nB C=2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ setting, want string }{
		{"--env-file=" + filepath.Join(dir, "none"), "no such file or directory"},
		{"--env-file=" + dir, "not a regular file"},
		{"--env-file=" + bad, "line 2: want KEY=VALUE"},
		{"--cwd=" + bad, "not a directory"},
		{"--nofile=unlimited", "refuses unlimited open files"},
		{"--user=no-such-user-here", "no such user"},
	} {
		code, stdout, stderr := runUsage(t, "--control=none", "{", c.setting, "true", "}")
		if code != 2 || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, c.want) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want 2 and one line with %q", c.setting, code, stdout, stderr, c.want)
		}
	}
}

// What only root may do is refused to a respawn that is not root, before
// anything starts, in one line, with exit status 2.
func TestSettingsRefusedWithoutRoot(t *testing.T) {
	dir := openDir(t)
	bin := filepath.Join(dir, "respawn")
	b, err := os.ReadFile(respawnBin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	var own unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &own); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ setting, want string }{
		{"--user=daemon", "--user=daemon needs respawn to run as root"},
		{"--group=daemon", "--group=daemon needs respawn to run as root"},
		{"--groups=", "--groups needs respawn to run as root"},
		{"--nice=-1", "--nice=-1 needs respawn to run as root"},
		{fmt.Sprintf("--nofile=%d", own.Max+1), "--nofile"},
	} {
		cmd := exec.Command(bin, "--control=none", "{", c.setting, "true", "}")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		out, err := cmd.CombinedOutput()
		code := cmd.ProcessState.ExitCode()
		if err == nil || code != 2 || strings.Count(string(out), "\n") != 1 || !strings.Contains(string(out), c.want) {
			t.Errorf("%s as nobody: exit %d, output %q; want 2 and one line with %q", c.setting, code, out, c.want)
		}
	}
}
