//go:build linux

package respawn

import (
	"bytes"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// ChildStats reads /proc/PID/stat of many processes on every CPU. A live
// upgrade's new image starts one on its children as soon as it runs, so
// that the reads, which adopting a thousand servers is mostly made of,
// overlap the decoding of its snapshot.
//
// Each read holds syscall.ForkLock for reading from open to close, and
// reexec.CloseInherited holds it for writing: the descriptors of the reads
// are never among those it closes as inherited.
type ChildStats struct {
	pids  []int
	stats []Stat
	next  atomic.Int64
	wg    sync.WaitGroup
}

// statsPerWorker is the fewest /proc reads worth a goroutine of their own.
const statsPerWorker = 64

// ReadChildStats starts reading the stats of this process's children, as
// /proc/self/task/TID/children lists them for each thread (after execve,
// every child is the one remaining thread's). It returns nil where the
// kernel lacks those files (CONFIG_PROC_CHILDREN); Restore then reads each
// stat itself.
func ReadChildStats() *ChildStats {
	pids, ok := listChildren()
	if !ok {
		return nil
	}
	return readStats(pids, runtime.GOMAXPROCS(0)-1)
}

// childPids lists this process's children: from the per-thread children
// files where the kernel has them, else from a walk of /proc.
func childPids() []int {
	if pids, ok := listChildren(); ok {
		return pids
	}
	return childrenOf(unix.Getpid())
}

// listChildren lists this process's children from
// /proc/self/task/TID/children, and reports false where the kernel lacks
// those files.
func listChildren() ([]int, bool) {
	self := "/proc/" + strconv.Itoa(unix.Getpid()) + "/task/"
	tids, err := listProcDir(self)
	if err != nil {
		return nil, false
	}
	var pids []int
	listed := false
	for _, tid := range tids {
		b, err := readProcFile(self + tid + "/children")
		if err != nil {
			continue // no such file in this kernel, or a thread gone
		}
		listed = true
		for _, f := range bytes.Fields(b) {
			if p, err := strconv.Atoi(string(f)); err == nil && p > 0 {
				pids = append(pids, p)
			}
		}
	}
	return pids, listed
}

// readStats starts reading the stats of pids on up to workers goroutines,
// at least one; wait then joins them.
func readStats(pids []int, workers int) *ChildStats {
	c := &ChildStats{pids: pids, stats: make([]Stat, len(pids))}
	for range max(1, min(workers, len(pids)/statsPerWorker)) {
		c.wg.Go(c.work)
	}
	return c
}

// work reads stats until none is left. A process that is gone reads as
// PPid -1.
func (c *ChildStats) work() {
	for {
		i := int(c.next.Add(1) - 1)
		if i >= len(c.pids) {
			return
		}
		syscall.ForkLock.RLock()
		st, err := ReadStat(c.pids[i])
		syscall.ForkLock.RUnlock()
		if err != nil {
			st.PPid = -1
		}
		c.stats[i] = st
	}
}

// wait joins the reading and returns the stats by pid.
func (c *ChildStats) wait() map[int]Stat {
	c.work()
	c.wg.Wait()
	m := make(map[int]Stat, len(c.pids))
	for i, p := range c.pids {
		m[p] = c.stats[i]
	}
	return m
}

// listProcDir lists a /proc directory with plain system calls, under
// syscall.ForkLock like the stats.
func listProcDir(path string) ([]string, error) {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	var names []string
	buf := make([]byte, 8<<10)
	for {
		n, err := unix.ReadDirent(fd, buf)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return names, nil
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
}

// readProcFile reads a small /proc file with plain system calls, under
// syscall.ForkLock like the stats.
func readProcFile(path string) ([]byte, error) {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	var out []byte
	buf := make([]byte, 16<<10)
	for {
		n, err := unix.Read(fd, buf)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return out, nil
		}
		out = append(out, buf[:n]...)
	}
}
