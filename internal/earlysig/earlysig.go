// Package earlysig routes the supervisor's signals to a channel as early
// as a Go program can: in a package init that depends on nothing but
// os/signal. After a live upgrade's execve the Go runtime unblocks
// SIGTERM, SIGINT and SIGHUP before main runs, and one that is not yet
// routed would end the new image; from here on they are queued instead.
package earlysig

import (
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// Signals are the signals the supervisor handles (respawn.handled lists
// the same). SIGURG, the Go runtime's preemption signal, is deliberately
// absent. SIGPIPE is routed so that a write to a vanished log reader fails
// with EPIPE instead of ending the supervisor; unlike SIG_IGN, a handler
// is not inherited by the servers.
var Signals = append(fatal[:len(fatal):len(fatal)], harmless...)

// fatal are the signals the Go runtime ends the process on while they are
// not routed: they are routed before init returns.
var fatal = []os.Signal{syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT, syscall.SIGPIPE}

// harmless are the others: until routed, the runtime drops SIGCHLD (the
// supervisor sweeps wait4 before it relies on it) and leaves SIGUSR1,
// SIGUSR2 and SIGWINCH pending when they are blocked, as they are across a
// live upgrade's execve. Routing one costs a round trip to the runtime's
// signal thread, so they are routed in the background, while main goes
// on. The supervisor's own Notify of every signal to C (respawn's setup)
// routes whichever the background has not routed yet, so once it returns
// all are, in either order.
var harmless = []os.Signal{syscall.SIGCHLD, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH}

// C receives every signal in Signals from program start on.
var C = make(chan os.Signal, 128)

func init() {
	if preflight(os.Args) {
		return
	}
	signal.Notify(C, fatal...)
	go signal.Notify(C, harmless...)
}

// preflight reports whether this process is a live upgrade's pre-flight
// check ("respawn --upgrade-check=N --state-fd=3 ARGS...", or the older
// "respawn --upgrade-check=N", exactly as a running supervisor starts it):
// it handles no signal and exits once it has answered, and the supervisor
// kills it if it does not, so it skips the routing.
func preflight(args []string) bool {
	const flag, state = "--upgrade-check=", "--state-fd="
	return len(args) >= 2 && strings.HasPrefix(args[1], flag) &&
		(len(args) == 2 || strings.HasPrefix(args[2], state))
}
