// Package earlysig routes the supervisor's signals to a channel as early
// as a Go program can: in a package init that depends on nothing but
// os/signal. After a live upgrade's execve the Go runtime unblocks
// SIGTERM, SIGINT and SIGHUP before main runs, and one that is not yet
// routed would end the new image; from here on they are queued instead.
package earlysig

import (
	"os"
	"os/signal"
	"syscall"
)

// Signals are the signals the supervisor handles (respawn.handled lists
// the same). SIGURG, the Go runtime's preemption signal, is deliberately
// absent. SIGPIPE is routed so that a write to a vanished log reader fails
// with EPIPE instead of ending the supervisor; unlike SIG_IGN, a handler
// is not inherited by the servers.
var Signals = []os.Signal{
	syscall.SIGCHLD, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGHUP,
	syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGWINCH,
	syscall.SIGPIPE,
}

// C receives every signal in Signals from program start on.
var C = make(chan os.Signal, 128)

func init() { signal.Notify(C, Signals...) }
