// Package watch is the kernel side of respawn's proc events task: the proc
// connector socket (NETLINK_CONNECTOR, CN_IDX_PROC) and its BPF filter, the
// parser of what the kernel sends, the bounded ring that carries events to
// the event loop, what /proc says of a process, and the rules that pick the
// processes to watch (executable glob, exact name, regex of the command
// line, pid; armourd's configuration file).
//
// It knows nothing of the supervisor: package respawn owns the watched
// processes and decides what an exit means.
package watch
