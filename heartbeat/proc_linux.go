//go:build linux

package heartbeat

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// procUID is the effective uid of pid, from /proc/PID/status.
func procUID(pid int) (uint32, error) {
	b, err := readSmall("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Uid:"); ok {
			f := strings.Fields(v)
			if len(f) >= 2 {
				u, err := strconv.ParseUint(f[1], 10, 32)
				return uint32(u), err
			}
		}
	}
	return 0, fmt.Errorf("heartbeat: no Uid in /proc/%d/status", pid)
}

// readSmall reads a /proc file of at most 64 KiB.
func readSmall(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, 64<<10)
	n, err := f.Read(b)
	if err != nil {
		return nil, err
	}
	return b[:n], nil
}

// fifoWriters looks through /proc/*/fd for the FIFOs of keys: for each,
// the processes that hold it open for writing (O_WRONLY or O_RDWR, from
// /proc/PID/fdinfo), each once.
func fifoWriters(keys map[fileKey]bool) map[fileKey][]int {
	out := map[fileKey][]int{}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return out
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		for k := range processFIFOs(pid, keys) {
			out[k] = append(out[k], pid)
		}
	}
	return out
}

// processFIFOs are the FIFOs among keys that pid holds open for writing.
func processFIFOs(pid int, keys map[fileKey]bool) map[fileKey]bool {
	dir := "/proc/" + strconv.Itoa(pid)
	fds, err := os.ReadDir(dir + "/fd")
	if err != nil {
		return nil
	}
	var found map[fileKey]bool
	for _, fd := range fds {
		var st unix.Stat_t
		if unix.Stat(dir+"/fd/"+fd.Name(), &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
			continue
		}
		k := fileKey{dev: st.Dev, ino: st.Ino}
		if !keys[k] || !writing(dir+"/fdinfo/"+fd.Name()) {
			continue
		}
		if found == nil {
			found = map[fileKey]bool{}
		}
		found[k] = true
	}
	return found
}

// writing reports whether an fdinfo file's flags open for writing.
func writing(fdinfo string) bool {
	b, err := readSmall(fdinfo)
	if err != nil {
		return false
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("flags:")); ok {
			fl, err := strconv.ParseUint(string(bytes.TrimSpace(v)), 8, 32)
			acc := fl & unix.O_ACCMODE
			return err == nil && (acc == unix.O_WRONLY || acc == unix.O_RDWR)
		}
	}
	return false
}

// pidfdPid is the pid a pidfd refers to (/proc/self/fdinfo's Pid), -1
// once the process has been reaped.
func pidfdPid(fd int) (int, error) {
	b, err := readSmall("/proc/self/fdinfo/" + strconv.Itoa(fd))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Pid:"); ok {
			return strconv.Atoi(strings.TrimSpace(v))
		}
	}
	return 0, fmt.Errorf("heartbeat: descriptor %d is not a pidfd", fd)
}
