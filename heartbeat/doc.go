// Package heartbeat is the application heartbeat monitor of AHM: an
// application registers itself by creating a file .phm_<PID>_XXXXXX in a
// directory, naming a FIFO it then writes beats to; a registrant that
// misses its deadline gets the action it registered (SIGKILL, or a log
// line).
//
// The registration file and the FIFO are untrusted: the file is read with
// a bound and parsed strictly (Parse), neither is opened through a
// symbolic link, and a registrant is authenticated through /proc (the
// file and the FIFO are owned by the process's uid, and the process, and
// no other, holds the FIFO open for writing).
//
// One goroutine (Monitor.Run) polls every FIFO, every registrant's pidfd
// and the directory's inotify descriptor with one epoll set: there is no
// goroutine per registrant. The package knows nothing of the supervisor:
// it kills through the pidfd, so that a reused pid is never hit, and a
// registrant the supervisor restarts registers again.
package heartbeat
