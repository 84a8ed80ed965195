//go:build linux

package test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The VM bed boots the machine's own Debian kernel under qemu (TCG: KVM
// does not work on every machine that runs the tests) with an initramfs
// made at test time from the installed packages: busybox-static for the
// shell and the checks, and a static respawn as the machine's PID 1, in
// the initial namespaces. Nothing binary is committed.

// vmPackages are the Debian packages the bed needs.
const vmPackages = "qemu-system-x86 linux-image-amd64 busybox-static cpio"

// vmTimeout bounds one boot, from qemu's start to its exit: a boot takes
// about 5 s under TCG, a run to power off 10 to 15 s.
const vmTimeout = 90 * time.Second

// vmApplets are the busybox applets the bed links into /bin.
var vmApplets = []string{"sh", "mount", "cat", "ls", "sleep", "grep", "kill", "echo", "ps", "mkdir", "test", "[", "sed", "wc", "tr", "true", "setsid", "touch", "cut", "poweroff"}

// vm is one machine to boot: respawn's command line after its name (the
// init script quotes each word), files to put in its root, by path,
// executable, and what /init does first.
type vm struct {
	args  []string
	files map[string]string
	early string   // shell lines /init runs before it executes respawn
	qemu  []string // more qemu arguments: devices
}

// vmRun is what one boot showed: the serial console, and qemu's end.
type vmRun struct {
	console string
	err     error // qemu's exit (nil: it exited 0), or the timeout's
	took    time.Duration
}

// boot builds the initramfs and boots it, and returns when qemu exits
// (the machine powered off, rebooted under -no-reboot, or panicked with
// panic=-1) or vmTimeout has passed.
func (m vm) boot(t *testing.T) vmRun {
	t.Helper()
	kernel := vmNeeds(t)
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	m.makeRoot(t, root)
	initrd := filepath.Join(dir, "initrd.cpio")
	pack := exec.Command("sh", "-c", "find . | cpio -o -H newc -R 0:0 --quiet > "+initrd)
	pack.Dir = root
	if out, err := pack.CombinedOutput(); err != nil {
		t.Fatalf("cpio: %v\n%s", err, out)
	}
	return qemu(t, kernel, initrd, m.qemu...)
}

// qemu boots kernel with initrd, with more arguments, and reads the
// serial console.
func qemu(t *testing.T, kernel, initrd string, more ...string) vmRun {
	t.Helper()
	args := []string{"-k", "5", fmt.Sprint(vmTimeout.Seconds()),
		"qemu-system-x86_64", "-accel", "tcg", "-cpu", "max", "-m", "256", "-smp", "1",
		"-nographic", "-no-reboot", "-kernel", kernel, "-initrd", initrd,
		"-append", "console=ttyS0 rdinit=/init quiet panic=-1"}
	cmd := exec.Command("timeout", append(args, more...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	r := vmRun{console: strings.ReplaceAll(out.String(), "\r\n", "\n"), err: err, took: time.Since(start)}
	t.Logf("qemu ran %v (%v)", r.took.Round(100*time.Millisecond), err)
	return r
}

// vmNeeds fails t, saying how to get them, when qemu, a kernel, a static
// busybox or cpio is missing, and returns the kernel's path.
func vmNeeds(t *testing.T) string {
	t.Helper()
	var missing []string
	for _, p := range []string{"qemu-system-x86_64", "cpio", "timeout"} {
		if _, err := exec.LookPath(p); err != nil {
			missing = append(missing, p)
		}
	}
	if _, err := os.Stat("/bin/busybox"); err != nil {
		missing = append(missing, "/bin/busybox")
	}
	kernels, _ := filepath.Glob("/boot/vmlinuz-*")
	if len(kernels) == 0 {
		missing = append(missing, "/boot/vmlinuz-*")
	}
	if len(missing) > 0 {
		t.Fatalf("the VM tests need %s: apt-get install %s", strings.Join(missing, ", "), vmPackages)
	}
	return kernels[len(kernels)-1]
}

// makeRoot lays out the machine's root: busybox and its links, a static
// respawn and respawnctl, /dev/console, the init script (which mounts devtmpfs on /dev,
// then executes respawn) and m's files.
func (m vm) makeRoot(t *testing.T, root string) {
	t.Helper()
	for _, d := range []string{"bin", "dev", "proc", "sys", "tmp", "run"} {
		vmMust(t, os.MkdirAll(filepath.Join(root, d), 0o755))
	}
	copyFile(t, "/bin/busybox", filepath.Join(root, "bin/busybox"), 0o755)
	for _, a := range vmApplets {
		vmMust(t, os.Symlink("busybox", filepath.Join(root, "bin", a)))
	}
	vmMust(t, unix.Mknod(filepath.Join(root, "dev/console"), unix.S_IFCHR|0o600, int(unix.Mkdev(5, 1))))
	staticBuild(t, filepath.Join(root, "respawn"), "../cmd/respawn", "testhooks") // SIGUSR1 can hang its loop
	staticBuild(t, filepath.Join(root, "bin/respawnctl"), "../cmd/respawnctl")
	words := []string{"exec", "/respawn"}
	for _, a := range m.args {
		words = append(words, "'"+strings.ReplaceAll(a, "'", `'\''`)+"'")
	}
	// /proc is left to the checks, unless m.early mounts it: respawn
	// starts without it, as an initramfs's init may.
	init := "#!/bin/sh\nexport PATH=/bin\nmount -t devtmpfs dev /dev\n" + m.early + "\n" + strings.Join(words, " ") + "\n"
	files := map[string]string{"init": init}
	for p, s := range m.files {
		files[p] = s
	}
	for p, s := range files {
		vmMust(t, os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755))
		vmMust(t, os.WriteFile(filepath.Join(root, p), []byte(s), 0o755))
	}
}

// staticBuild builds pkg without cgo into path, with the build tags
// given: the initramfs has no libc.
func staticBuild(t *testing.T, path, pkg string, tags ...string) {
	t.Helper()
	build := exec.Command("go", "build", "-trimpath", "-tags="+strings.Join(tags, ","), "-o", path, pkg)
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("static build of %s: %v\n%s", pkg, err, out)
	}
}

func vmMust(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// vmPanicked reports the kernel's panic lines on a console, if any.
func vmPanicked(console string) string {
	var bad []string
	for _, line := range strings.Split(console, "\n") {
		if strings.Contains(line, "Kernel panic") || strings.Contains(line, "Attempted to kill init") {
			bad = append(bad, line)
		}
	}
	return strings.Join(bad, "\n")
}
