//go:build linux

package control

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// listenT listens at path and closes the listener when the test ends.
func listenT(t *testing.T, path string) *net.UnixListener {
	t.Helper()
	ln, err := Listen(path)
	if err != nil {
		t.Fatalf("Listen(%s): %v", path, err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// roundTrip connects to path and checks that ln accepts the connection.
func roundTrip(t *testing.T, path string, ln *net.UnixListener) {
	t.Helper()
	c, err := net.DialTimeout("unix", path, time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", path, err)
	}
	defer c.Close()
	_ = ln.SetDeadline(time.Now().Add(5 * time.Second))
	a, err := ln.Accept()
	if err != nil {
		t.Fatalf("accept: %v", err)
	}
	a.Close()
}

func TestListenModes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "control.sock")
	ln := listenT(t, path)
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v, want a socket with 0600", fi.Mode())
	}
	di, err := os.Stat(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if di.Mode().Perm() != 0o700 {
		t.Errorf("directory mode %v, want 0700", di.Mode().Perm())
	}
	ents, _ := os.ReadDir(filepath.Dir(path))
	if len(ents) != 1 {
		t.Errorf("directory holds %d entries, want the socket alone", len(ents))
	}
	roundTrip(t, path, ln)
}

func TestListenReplacesStale(t *testing.T) {
	path := filepath.Join(t.TempDir(), "control.sock")
	old, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	old.SetUnlinkOnClose(false)
	old.Close() // a supervisor that died: the file stays, nobody listens
	if _, err := os.Lstat(path); err != nil {
		t.Fatalf("stale socket not left: %v", err)
	}
	ln := listenT(t, path)
	roundTrip(t, path, ln)
}

func TestListenNeverStealsLive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "control.sock")
	ln := listenT(t, path)
	done := make(chan struct{})
	go func() { // answer the probe, as a live supervisor would
		defer close(done)
		if c, err := ln.Accept(); err == nil {
			c.Close()
		}
	}()
	second, err := Listen(path)
	if err == nil {
		second.Close()
		t.Fatal("Listen took over a live socket")
	}
	if !errors.Is(err, ErrInUse) {
		t.Fatalf("err = %v, want ErrInUse", err)
	}
	<-done
	roundTrip(t, path, ln)
}

func TestListenRefusesOtherFiles(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string
		want string
	}{
		{name: "regular file", path: file, want: "not a socket"},
		{name: "parent is a file", path: filepath.Join(file, "control.sock"), want: "not a directory"},
		{name: "too long", path: filepath.Join(dir, strings.Repeat("x", 120)), want: "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln, err := Listen(tt.path)
			if err == nil {
				ln.Close()
				t.Fatalf("Listen(%s) succeeded", tt.path)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "control: ") {
				t.Fatalf("err = %q, want one starting with control: and saying %q", err, tt.want)
			}
		})
	}
	if b, _ := os.ReadFile(file); string(b) != "keep me" {
		t.Errorf("the regular file was changed: %q", b)
	}
}

// Closing the listener leaves the socket file (a live upgrade must not lose
// it); Remove removes it once nobody listens, and never a live one.
func TestCloseKeepsFileRemoveRemoves(t *testing.T) {
	path := filepath.Join(t.TempDir(), "control.sock")
	ln, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := Remove(path); !errors.Is(err, ErrInUse) {
		t.Fatalf("Remove of a live socket: %v, want ErrInUse", err)
	}
	ln.Close()
	if _, err := os.Lstat(path); err != nil {
		t.Fatalf("Close removed the socket file: %v", err)
	}
	if err := Remove(path); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("socket file still there: %v", err)
	}
	if err := Remove(path); err != nil {
		t.Fatalf("Remove of nothing: %v", err)
	}
}

// The descriptor FD returns is the listener's own, and FromFD adopts such a
// descriptor as a live upgrade's new image does.
func TestFDFromFD(t *testing.T) {
	path := filepath.Join(t.TempDir(), "control.sock")
	ln := listenT(t, path)
	fd, err := FD(ln)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN); err != nil || v != 1 {
		t.Fatalf("FD %d is not the listening socket: %v %v", fd, v, err)
	}
	// The new image gets a copy of the descriptor across execve.
	inherited, err := unix.Dup(fd)
	if err != nil {
		t.Fatal(err)
	}
	adopted, err := FromFD(inherited)
	if err != nil {
		t.Fatal(err)
	}
	defer adopted.Close()
	if _, err := unix.FcntlInt(uintptr(inherited), unix.F_GETFD, 0); err == nil {
		t.Errorf("FromFD left descriptor %d open", inherited)
	}
	afd, _ := FD(adopted)
	if flags, err := unix.FcntlInt(uintptr(afd), unix.F_GETFD, 0); err != nil || flags&unix.FD_CLOEXEC == 0 {
		t.Errorf("adopted descriptor %d: flags %#x, %v; want close-on-exec", afd, flags, err)
	}
	roundTrip(t, path, adopted)
	adopted.Close()
	if _, err := os.Lstat(path); err != nil {
		t.Fatalf("closing the adopted listener removed the socket file: %v", err)
	}
}

func TestFromFDRefuses(t *testing.T) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[1])
	conn, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	f, _ := tcp.(*net.TCPListener).File()
	tests := []struct {
		name string
		fd   int
	}{
		{name: "pipe", fd: p[0]},
		{name: "unconnected socket", fd: conn},
		{name: "tcp listener", fd: int(f.Fd())},
		{name: "closed", fd: 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if ln, err := FromFD(tt.fd); err == nil {
				ln.Close()
				t.Fatalf("FromFD(%s) succeeded", tt.name)
			}
		})
	}
	// Not a socket: not FromFD's to close (the snapshot that named it may
	// be wrong, and the process may hold a file of its own there).
	defer unix.Close(p[0])
	if _, err := unix.FcntlInt(uintptr(p[0]), unix.F_GETFD, 0); err != nil {
		t.Errorf("FromFD closed the pipe it refused: %v", err)
	}
}

func TestDefaultPath(t *testing.T) {
	tests := []struct {
		name string
		uid  int
		dir  string
		want string
	}{
		{name: "root", uid: 0, dir: "/run/user/0", want: "/run/respawn/control.sock"},
		{name: "user", uid: 1000, dir: "/run/user/1000", want: "/run/user/1000/respawn/control.sock"},
		{name: "user without runtime dir", uid: 1000},
		{name: "relative runtime dir", uid: 1000, dir: "run"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := defaultPath(tt.uid, tt.dir)
			if got != tt.want || (err == nil) != (tt.want != "") {
				t.Fatalf("defaultPath(%d, %q) = %q, %v; want %q", tt.uid, tt.dir, got, err, tt.want)
			}
		})
	}
}

func TestPeerCred(t *testing.T) {
	path := filepath.Join(t.TempDir(), "control.sock")
	ln := listenT(t, path)
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	a, err := ln.AcceptUnix()
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	uid, pid, err := peerCred(a)
	if err != nil || int(uid) != os.Getuid() || int(pid) != os.Getpid() {
		t.Fatalf("peerCred = %d, %d, %v; want %d, %d", uid, pid, err, os.Getuid(), os.Getpid())
	}
}

// The socket has mode 0600 from bind on, whatever the umask, without a
// chmod of any path: the kernel takes the mode set on the socket before
// bind (the claim bindAt relies on, tested here with umask 0, under which
// a plain bind makes the file 0777 less nothing).
func TestListenModeFromSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "control.sock")
	old := unix.Umask(0)
	ln := listenT(t, path)
	unix.Umask(old)
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v under umask 0, want 0600", fi.Mode().Perm())
	}
	roundTrip(t, path, ln)
}

// A directory that others can fill is refused with an error that says
// why; a sticky one (such as /tmp) is not.
func TestListenRefusesUnsafeDir(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown to another user needs root")
	}
	tests := []struct {
		name string
		mode os.FileMode
		uid  int
		want string // "" for accepted
	}{
		{name: "world-writable", mode: 0o777, want: "without the sticky bit"},
		{name: "group-writable", mode: 0o770, want: "without the sticky bit"},
		{name: "another user's", mode: 0o700, uid: 65534, want: "owned by uid 65534"},
		{name: "another user's, sticky", mode: 0o1777, uid: 65534, want: "owned by uid 65534"},
		{name: "sticky and world-writable", mode: 0o1777},
		{name: "private", mode: 0o700},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "d")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := unix.Chmod(dir, uint32(tt.mode)); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(dir, tt.uid, tt.uid); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "control.sock")
			ln, err := Listen(path)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Listen in a %v directory: %v", tt.mode, err)
				}
				ln.Close()
				return
			}
			if err == nil {
				ln.Close()
				t.Fatalf("Listen in a %s directory succeeded", tt.name)
			}
			if !strings.HasPrefix(err.Error(), "control: ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want one containing %q", err, tt.want)
			}
			if _, err := os.Lstat(path); err == nil {
				t.Error("a socket was made there all the same")
			}
		})
	}
}

// Another user who can create names in the socket's directory (a sticky
// world-writable one) and plants symlinks at the names a supervisor
// would bind under cannot make it change the mode of the file they point
// at. The old temporary name, .respawn-PID, was predictable, and the
// chmod of it followed a symlink swapped in after bind.
func TestListenSymlinkAttack(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("acting as another user needs root")
	}
	dir := filepath.Join(t.TempDir(), "shared")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := unix.Chmod(dir, 0o1777); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "shadow")
	if err := os.WriteFile(target, []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{".respawn-" + strconv.Itoa(os.Getpid()), ".respawn", "control.sock.tmp"} {
		link := filepath.Join(dir, name)
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
		if err := os.Lchown(link, 65534, 65534); err != nil {
			t.Fatal(err)
		}
	}
	ln := listenT(t, filepath.Join(dir, "control.sock"))
	roundTrip(t, filepath.Join(dir, "control.sock"), ln)
	fi, err := os.Stat(target)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("the symlinks' target has mode %v, want 0644 unchanged", fi.Mode().Perm())
	}
}

// A lock on the directory held by another process makes Listen wait a
// bounded time, then fail with an error that says so.
func TestListenLockHeld(t *testing.T) {
	dir := t.TempDir()
	holder := exec.Command("flock", "--exclusive", dir, "sleep", "30")
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = holder.Process.Kill()
		_ = holder.Wait()
	}()
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	deadline := time.Now().Add(10 * time.Second)
	for unix.Flock(fd, unix.LOCK_SH|unix.LOCK_NB) == nil {
		_ = unix.Flock(fd, unix.LOCK_UN)
		if time.Now().After(deadline) {
			t.Fatal("flock(1) did not take the lock")
		}
		time.Sleep(5 * time.Millisecond)
	}
	defer func(d time.Duration) { lockTimeout = d }(lockTimeout)
	lockTimeout = 200 * time.Millisecond
	ln, err := Listen(filepath.Join(dir, "control.sock"))
	if err == nil {
		ln.Close()
		t.Fatal("Listen succeeded while another process held the lock")
	}
	if !strings.Contains(err.Error(), "locked by another process") || !errors.Is(err, unix.EWOULDBLOCK) {
		t.Errorf("error %q, want one saying the directory is locked", err)
	}
}

// A socket directory below one that another user can rename things in
// (writable without the sticky bit, or theirs), or reached through
// another user's symlink, is refused, and nothing is made there: the
// directory was checked on a descriptor, but the socket is bound and
// reached by path, and such a user could swap the directory between the
// check and the bind, or later, for one of their own.
func TestListenRefusesUnsafeParent(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown to another user needs root")
	}
	tests := []struct {
		name    string
		mode    os.FileMode
		uid     int
		link    bool // reach the socket's directory through a symlink in parent
		linkUID int
		want    string // "" for accepted
	}{
		{name: "world-writable parent", mode: 0o777, want: "without the sticky bit"},
		{name: "group-writable parent", mode: 0o775, want: "without the sticky bit"},
		{name: "another user's parent", mode: 0o755, uid: 65534, want: "owned by uid 65534"},
		{name: "another user's symlink in a sticky parent", mode: 0o1777, link: true, linkUID: 65534, want: "owned by uid 65534"},
		{name: "sticky parent", mode: 0o1777},
		{name: "root's symlink in a sticky parent", mode: 0o1777, link: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := filepath.Join(t.TempDir(), "p")
			if err := os.Mkdir(parent, 0o700); err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(parent, "run")
			if tt.link {
				real := filepath.Join(t.TempDir(), "real")
				if err := os.Mkdir(real, 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(real, dir); err != nil {
					t.Fatal(err)
				}
				if err := os.Lchown(dir, tt.linkUID, tt.linkUID); err != nil {
					t.Fatal(err)
				}
			}
			if err := unix.Chmod(parent, uint32(tt.mode)); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(parent, tt.uid, tt.uid); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "control.sock")
			ln, err := Listen(path)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Listen: %v", err)
				}
				roundTrip(t, path, ln)
				ln.Close()
				return
			}
			if err == nil {
				ln.Close()
				t.Fatalf("Listen below a %s succeeded", tt.name)
			}
			if !strings.HasPrefix(err.Error(), "control: ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want one containing %q", err, tt.want)
			}
			if _, err := os.Lstat(path); err == nil {
				t.Error("a socket was made there all the same")
			}
			if _, err := os.Lstat(dir); err == nil && !tt.link {
				t.Error("the socket's directory was made all the same")
			}
		})
	}
}

// A socket path of the longest length a sockaddr holds is served: the
// temporary name bound before the rename was the socket's directory
// joined with a name longer than "control.sock", which bind refused with
// EINVAL for any path within 30 bytes of the limit.
func TestListenLongestPath(t *testing.T) {
	dir := t.TempDir()
	max := len(unix.RawSockaddrUnix{}.Path) - 1
	sub := strings.Repeat("d", max-len(dir)-len("/x.sock")-1)
	path := filepath.Join(dir, sub, "x.sock")
	if len(path) != max {
		t.Fatalf("path of %d bytes, want %d", len(path), max)
	}
	ln := listenT(t, path)
	roundTrip(t, path, ln)
}
