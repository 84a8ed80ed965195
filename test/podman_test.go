//go:build linux

package test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// pod runs podman with runc, which works on these machines where crun
// (podman's default) does not, and returns its stdout; a failure fails
// the test with podman's stderr.
func pod(t *testing.T, args ...string) string {
	t.Helper()
	out, err := podQuiet(args...)
	if err != nil {
		t.Fatalf("podman %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func podQuiet(args ...string) (string, error) {
	var o, e bytes.Buffer
	cmd := exec.Command("podman", append([]string{"--runtime", "runc"}, args...)...)
	cmd.Stdout, cmd.Stderr = &o, &e
	if err := cmd.Run(); err != nil {
		return o.String(), &podError{err, strings.TrimSpace(e.String())}
	}
	return strings.TrimSpace(o.String()), nil
}

type podError struct {
	err    error
	stderr string
}

func (e *podError) Error() string { return e.err.Error() + ": " + e.stderr }
func (e *podError) Unwrap() error { return e.err }

// respawnImage builds an image of a static busybox and a static respawn,
// as an operator's Dockerfile would (FROM scratch, COPY both), and
// returns its id; the test removes it by id.
func respawnImage(t *testing.T) string {
	t.Helper()
	need(t, "podman", "podman")
	need(t, "runc", "runc")
	busybox := need(t, "busybox", "busybox-static")
	if out, _ := exec.Command("ldd", busybox).CombinedOutput(); !strings.Contains(string(out), "not a dynamic executable") {
		t.Fatalf("%s is not static (apt-get install busybox-static; .ci/run installs it): %s", busybox, out)
	}
	root := filepath.Join(t.TempDir(), "root")
	if err := os.MkdirAll(filepath.Join(root, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile(t, busybox, filepath.Join(root, "bin", "busybox"), 0o755)
	for _, l := range []string{"sh", "sleep", "echo", "cat"} {
		if err := os.Symlink("busybox", filepath.Join(root, "bin", l)); err != nil {
			t.Fatal(err)
		}
	}
	build := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(root, "respawn"), "../cmd/respawn")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("static respawn: %v\n%s", err, out)
	}
	tarball := filepath.Join(t.TempDir(), "rootfs.tar")
	if out, err := exec.Command("tar", "-cf", tarball, "-C", root, ".").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, out)
	}
	id := pod(t, "import", "-q", tarball, "localhost/respawn-test:"+strconv.Itoa(os.Getpid()))
	t.Cleanup(func() { _, _ = podQuiet("rmi", "-f", id) })
	return id
}

// runContainer starts respawn as PID 1 of a container of image with
// args, and returns the container's id; the test removes it by id.
func runContainer(t *testing.T, image string, args ...string) string {
	t.Helper()
	id := pod(t, append([]string{"run", "-d", "--network", "none",
		"--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096", image, "/respawn", "--control=none"}, args...)...)
	t.Cleanup(func() {
		if t.Failed() {
			logs := podLogs(id)
			t.Logf("container %s logs:\n%s", id, logs)
		}
		_, _ = podQuiet("rm", "-f", "-t", "0", id)
	})
	return id
}

// containerLogs waits until the container's output holds every one of
// want, and returns it.
func containerLogs(t *testing.T, id string, want ...string) string {
	t.Helper()
	var logs string
	eventually(t, "container output with "+strings.Join(want, ", "), func() bool {
		logs = podLogs(id)
		for _, w := range want {
			if !strings.Contains(logs, w) {
				return false
			}
		}
		return true
	})
	return logs
}

// podLogs is the container's stdout (its servers') and stderr
// (respawn's log), which podman logs keeps apart.
func podLogs(id string) string {
	out, _ := exec.Command("podman", "--runtime", "runc", "logs", id).CombinedOutput()
	return string(out)
}

// exitCode waits for the container to exit and returns its exit status.
// A container still running after 30 s fails the test.
func exitCode(t *testing.T, id string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "podman", "--runtime", "runc", "wait", id).Output()
	if ctx.Err() != nil {
		t.Fatalf("container %s still running after 30 s", id)
	}
	n, aerr := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil || aerr != nil {
		t.Fatalf("podman wait %s: %v %q", id, err, out)
	}
	return n
}

// trapServer is a busybox shell server that says "NAME ready", and on
// SIGQUIT or SIGTERM says "NAME heard SIG" and exits 0.
func trapServer(name string) string {
	return `trap "echo ` + name + ` heard QUIT; exit 0" QUIT; trap "echo ` + name + ` heard TERM; exit 0" TERM; ` +
		`echo ` + name + ` ready; while :; do sleep 1 & wait; done`
}

// respawn as PID 1 of a real container (podman with runc): podman stop
// (SIGTERM to PID 1, SIGKILL after 10 s) and podman stop --time end each
// server its own way, and the container's exit status is respawn's: 0
// when every server stopped cleanly, 1 when one had to be killed (not
// the runtime's 137), 127 with --exit-when-buried and a missing program.
func TestIntegrationPodman(t *testing.T) {
	image := respawnImage(t)
	t.Cleanup(func() { checkNoChildren(t) }) // runs last: conmon is gone too

	t.Run("stop", func(t *testing.T) {
		id := runContainer(t, image,
			"{", "@quit", "--stop-signal=QUIT", "sh", "-c", trapServer("quit"), "}",
			"{", "@term", "sh", "-c", trapServer("term"), "}")
		containerLogs(t, id, "quit ready", "term ready")
		pod(t, "stop", id)
		if code := exitCode(t, id); code != 0 {
			t.Errorf("container exit status %d, want 0", code)
		}
		logs := containerLogs(t, id, "quit heard QUIT", "term heard TERM", `msg="respawn exiting" status=0`)
		if heardLines := strings.Split(logs, "\n"); slices.Contains(heardLines, "quit heard TERM") || slices.Contains(heardLines, "term heard QUIT") {
			t.Errorf("a server heard another's stop signal:\n%s", logs)
		}
	})

	t.Run("stop-time", func(t *testing.T) {
		id := runContainer(t, image,
			"{", "@quit", "--stop-signal=QUIT", "sh", "-c", trapServer("quit"), "}",
			"{", "@deaf", "--stop-timeout=500ms", "sh", "-c", `trap "" TERM; echo deaf ready; while :; do sleep 1; done`, "}")
		containerLogs(t, id, "quit ready", "deaf ready")
		pod(t, "stop", "--time", "5", id)
		if code := exitCode(t, id); code != 1 {
			t.Errorf("container exit status %d, want 1 (respawn's: a server was killed)", code)
		}
		containerLogs(t, id, "quit heard QUIT", `msg="stop timeout passed: killing"`, "name=deaf", "timeout=500ms",
			`msg="respawn exiting" status=1`)
	})

	t.Run("exit-when-buried", func(t *testing.T) {
		id := runContainer(t, image, "--exit-when-buried", "{", "/no/such/program", "}")
		if code := exitCode(t, id); code != 127 {
			t.Errorf("container exit status %d, want 127", code)
		}
		containerLogs(t, id, "nothing left that can run")
	})
}
