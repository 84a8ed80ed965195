//go:build linux

package test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// need returns the path of program, or fails the test saying which
// Debian package .ci/run installs for it.
func need(t *testing.T, program, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(program)
	if err != nil {
		t.Fatalf("%s is needed (apt-get install %s; .ci/run installs it): %v", program, pkg, err)
	}
	return p
}

// freePort is a TCP port on 127.0.0.1 that nothing listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// nginxConf writes a configuration for Debian's nginx that keeps every
// file in dir and serves dir/www on port, in the foreground.
func nginxConf(t *testing.T, dir string, port int) string {
	t.Helper()
	conf := filepath.Join(dir, "nginx.conf")
	body := fmt.Sprintf(`daemon off;
user root;
worker_processes 2;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log info;
events { worker_connections 64; }
http {
	access_log %[1]s/access.log;
	client_body_temp_path %[1]s/body;
	proxy_temp_path %[1]s/proxy;
	fastcgi_temp_path %[1]s/fastcgi;
	uwsgi_temp_path %[1]s/uwsgi;
	scgi_temp_path %[1]s/scgi;
	server {
		listen 127.0.0.1:%[2]d;
		root %[1]s/www;
	}
}
`, dir, port)
	if err := os.MkdirAll(filepath.Join(dir, "www"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return conf
}

// redisConf writes a configuration for Debian's redis-server that saves
// to dir/dump.rdb on shutdown and logs to dir/redis.log.
func redisConf(t *testing.T, dir string, port int) string {
	t.Helper()
	conf := filepath.Join(dir, "redis.conf")
	body := fmt.Sprintf("port %d\nbind 127.0.0.1\nprotected-mode no\ndaemonize no\ndir %s\ndbfilename dump.rdb\nsave 3600 1\nlogfile %s/redis.log\n",
		port, dir, dir)
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return conf
}

// nginx and redis under one respawn, each with its own stop signal, as a
// container's stop would end them: on SIGTERM to respawn, nginx gets
// SIGQUIT (graceful: a download in progress, throttled by its client,
// completes), redis gets SIGTERM (it saves its data and exits), respawn
// exits 0 and no process is left. With one stop signal for all, nginx got
// SIGTERM, which cuts the download off.
func TestRealServersStopTheirOwnWay(t *testing.T) {
	nginx, redis := need(t, "nginx", "nginx"), need(t, "redis-server", "redis-server")
	redisCli, curl := need(t, "redis-cli", "redis-tools"), need(t, "curl", "curl")
	dir := t.TempDir()
	webPort, redisPort := freePort(t), freePort(t)
	const size = 24 << 20
	if err := os.MkdirAll(filepath.Join(dir, "www"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(writeEmpty(t, filepath.Join(dir, "www", "big")), size); err != nil {
		t.Fatal(err)
	}
	s := begin(t,
		"{", "@web", "--stop-signal=QUIT", "--stop-timeout=30s", nginx, "-p", dir, "-e", dir+"/error.log", "-c", nginxConf(t, dir, webPort), "}",
		"{", "@redis", "--stop-signal=TERM", redis, redisConf(t, dir, redisPort), "}")
	port := fmt.Sprint(redisPort)
	eventually(t, "redis answers", func() bool {
		out, _ := exec.Command(redisCli, "-p", port, "ping").Output()
		return strings.TrimSpace(string(out)) == "PONG"
	})
	if out, err := exec.Command(redisCli, "-p", port, "set", "stopkey", "kept-across-the-stop").CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "OK" {
		t.Fatalf("redis-cli set: %v %q", err, out)
	}
	url := fmt.Sprintf("http://127.0.0.1:%d/big", webPort)
	eventually(t, "nginx answers", func() bool { return exec.Command(curl, "-sfI", url).Run() == nil })

	got := filepath.Join(dir, "got")
	dl := exec.Command(curl, "-sS", "-f", "--limit-rate", "8M", "-o", got, url)
	dl.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := dl.Start(); err != nil {
		t.Fatal(err)
	}
	var dlErr error
	done := make(chan struct{})
	go func() { dlErr = dl.Wait(); close(done) }()
	t.Cleanup(func() { _ = unix.Kill(dl.Process.Pid, unix.SIGKILL); <-done })
	eventually(t, "the download under way", func() bool { fi, err := os.Stat(got); return err == nil && fi.Size() > 1<<20 })

	s.signal(unix.SIGTERM)
	if code := s.wait(); code != 0 {
		t.Errorf("respawn's exit status %d, want 0", code)
	}
	<-done
	if dlErr != nil {
		t.Errorf("the download in progress failed: %v", dlErr)
	}
	if fi, err := os.Stat(got); err != nil || fi.Size() != size {
		t.Errorf("downloaded %v bytes (%v), want %d", fi.Size(), err, size)
	}
	s.waitLog(1, msg("CREMATED", "name", "web", "exit", "exit 0"))
	s.waitLog(1, msg("CREMATED", "name", "redis", "exit", "exit 0"))
	if n := s.count(msg("stop timeout passed: killing")); n != 0 {
		t.Errorf("%d servers had to be killed", n)
	}
	rlog, _ := os.ReadFile(filepath.Join(dir, "redis.log"))
	if !strings.Contains(string(rlog), "Received SIGTERM") || !strings.Contains(string(rlog), "ready to exit, bye bye") {
		t.Errorf("redis did not shut down on SIGTERM as it should; its log:\n%s", rlog)
	}
	rdb, err := os.ReadFile(filepath.Join(dir, "dump.rdb"))
	if err != nil || !strings.Contains(string(rdb), "kept-across-the-stop") {
		t.Errorf("redis did not save its data at the stop (%v)", err)
	}
	elog, _ := os.ReadFile(filepath.Join(dir, "error.log"))
	if !strings.Contains(string(elog), "gracefully shutting down") {
		t.Errorf("nginx did not shut down gracefully; its error log:\n%s", elog)
	}
}

// writeEmpty creates an empty file at path and returns path.
func writeEmpty(t *testing.T, path string) string {
	t.Helper()
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
