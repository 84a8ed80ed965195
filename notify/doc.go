// Package notify is the receiving end of systemd's sd_notify protocol for
// the servers respawn runs: a datagram socket each server finds in
// $NOTIFY_SOCKET, and a bounded parser of the newline-separated
// KEY=VALUE messages sent to it (READY=1, STATUS=..., WATCHDOG=1,
// MAINPID=..., RELOADING=1, STOPPING=1, ERRNO=...). Which server a message
// is from, and what it does, is the supervisor's business (package
// respawn); this package only receives, with the sender's credentials.
//
// # Where the socket lives
//
// The socket is bound in the abstract namespace, at
// "@respawn/notify/PID/RANDOM" (PID respawn's own, RANDOM 64 bits from
// the kernel). The abstract namespace was chosen over a path because:
//
//   - a server running under --user must be able to send to it. An
//     abstract socket has no file mode and no directory to search, so
//     every server reaches it whatever its credentials, with nothing to
//     chmod or chown; authenticating the sender is done by the kernel's
//     credentials of each datagram (SO_PASSCRED), which no sender can
//     forge, so leaving the socket open to every local process adds
//     nothing a path with mode 0666 in a root-owned directory would not;
//   - it needs no writable directory (respawn as PID 1 of an initramfs or
//     a container may have no /run) and leaves nothing behind when respawn
//     is killed, so a stale socket can never be found by the next one;
//   - it survives a live upgrade as it is: the descriptor is kept, and the
//     name, which the servers already hold in their environment, goes
//     with it (the pid does not change).
//
// The random part keeps another local user from binding the name first
// (a squatter would receive the servers' messages). The cost of the
// abstract namespace: it belongs to the network namespace, so a server
// that moves itself to another one (unshare -n) cannot reach it, where it
// could reach a path. Every client in use (systemd-notify,
// sd_notify(3) of libsystemd, go-systemd's daemon.SdNotify, python's
// sdnotify) accepts a NOTIFY_SOCKET that starts with '@'.
//
// # Credentials
//
// Each datagram is read with SCM_CREDENTIALS: the kernel writes the
// sender's pid, uid and gid. Where the kernel has SO_PASSPIDFD (6.5 and
// later) each datagram also carries a pidfd of the sender (SCM_PIDFD):
// after the caller has looked the pid up in /proc, SamePid says whether
// that pid still names the sender, so that a sender that exited right
// after sending, and whose pid was taken by another process, is never
// mistaken for that process. A sender that has exited and been reaped
// cannot be placed at all (its parent is no longer written anywhere), so
// its message is dropped; systemd-notify waits, unless --no-block, until
// the receiver has read it (BARRIER=1, below), and is alive when it is
// read. Descriptors passed with SCM_RIGHTS (the BARRIER=1 pipe of
// sd_notify_barrier(3), or a file descriptor store, which respawn does not
// keep) are closed as soon as the sender has been placed, before the next
// datagram is read; never kept. Closing the pipe is what releases the
// barrier's waiter, so it waits while it is being placed.
package notify
