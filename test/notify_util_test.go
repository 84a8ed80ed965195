//go:build linux

package test

import (
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

func init() {
	moreHelpers["sdnotify"] = sdnotifyHelper
}

// sdnotifyHelper is "helper sdnotify FILE STEP...": it appends its pid
// and $NOTIFY_SOCKET to FILE, then takes each step in order (a message to
// send, "$PID" in it replaced by the helper's pid, after which it appends "sent" to FILE; sleep:DURATION; exit,
// which ends it with status 0; or ping:N:DURATION, N times WATCHDOG=1
// every DURATION, appending nothing), then sleeps until killed. Each message is
// written the way python's sdnotify package writes it: a datagram socket,
// one sendto, "\n" for the message's line breaks written as "\\n".
func sdnotifyHelper(args []string) int {
	appendLine(args[0], strings.Join([]string{itoa(os.Getpid()), os.Getenv("NOTIFY_SOCKET")}, " "))
	for _, step := range args[1:] {
		if step == "exit" {
			return 0
		}
		if p, ok := strings.CutPrefix(step, "ping:"); ok {
			if !pings(p) {
				return 96
			}
			continue
		}
		if d, ok := strings.CutPrefix(step, "sleep:"); ok {
			dur, _ := time.ParseDuration(d)
			time.Sleep(dur)
			continue
		}
		step = strings.ReplaceAll(step, "$PID", itoa(os.Getpid()))
		if err := sdnotifyRaw(os.Getenv("NOTIFY_SOCKET"), strings.ReplaceAll(step, `\n`, "\n")); err != nil {
			return 96
		}
		appendLine(args[0], "sent")
	}
	return pause()
}

// pings sends WATCHDOG=1 as "N:DURATION" says.
func pings(spec string) bool {
	ns, ds, _ := strings.Cut(spec, ":")
	n, _ := strconv.Atoi(ns)
	d, _ := time.ParseDuration(ds)
	for i := 0; i < n; i++ {
		if sdnotifyRaw(os.Getenv("NOTIFY_SOCKET"), "WATCHDOG=1") != nil {
			return false
		}
		time.Sleep(d)
	}
	return true
}

// sdnotifyRaw sends msg to addr as python's sdnotify does:
// socket(AF_UNIX, SOCK_DGRAM), an address starting with '@' made
// abstract, sendto.
func sdnotifyRaw(addr, msg string) error {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Sendto(fd, []byte(msg), 0, &unix.SockaddrUnix{Name: addr})
}

func itoa(n int) string { return strconv.Itoa(n) }

// serverEnv is the value of name in the environment of process pid.
func serverEnv(pid int, name string) string {
	b, err := os.ReadFile("/proc/" + itoa(pid) + "/environ")
	if err != nil {
		return ""
	}
	for _, kv := range strings.Split(string(b), "\x00") {
		if v, ok := strings.CutPrefix(kv, name+"="); ok {
			return v
		}
	}
	return ""
}
