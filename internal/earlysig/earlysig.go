// Package earlysig routes the supervisor's signals to channels as early
// as a Go program can: in a package init that depends on nothing but
// os/signal. After a live upgrade's execve the Go runtime unblocks
// SIGTERM, SIGINT and SIGHUP before main runs, and one that is not yet
// routed would end the new image; from here on they are queued instead.
//
// There is one channel per kind of signal (respawn.Signals says why and
// how large each is); respawn's Signals lists the same routes.
package earlysig

import (
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// The channels, as respawn.Signals names them.
var (
	Stop    = make(chan os.Signal, 2) // SIGTERM, SIGINT, SIGQUIT
	Child   = make(chan os.Signal, 1) // SIGCHLD
	Dump    = make(chan os.Signal, 1) // SIGUSR1
	Revive  = make(chan os.Signal, 1) // SIGUSR2
	Upgrade = make(chan os.Signal, 1) // SIGHUP
	Winch   = make(chan os.Signal, 1) // SIGWINCH
	Pipe    = make(chan os.Signal, 1) // SIGPIPE
)

// Signals are the signals the supervisor handles (respawn.Handled lists
// the same). SIGURG, the Go runtime's preemption signal, is deliberately
// absent. SIGPIPE is routed so that a write to a vanished log reader fails
// with EPIPE instead of ending the supervisor; unlike SIG_IGN, a handler
// is not inherited by the servers.
var Signals = []os.Signal{
	syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT, syscall.SIGPIPE,
	syscall.SIGCHLD, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH,
}

// routeFatal routes the signals the Go runtime ends the process on while
// they are not routed: before init returns.
func routeFatal() {
	signal.Notify(Stop, syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT)
	signal.Notify(Upgrade, syscall.SIGHUP)
	signal.Notify(Pipe, syscall.SIGPIPE)
}

// routeHarmless routes the others: until routed, the runtime drops
// SIGCHLD (the supervisor sweeps wait4 before it relies on it) and leaves
// SIGUSR1, SIGUSR2 and SIGWINCH pending when they are blocked, as they
// are across a live upgrade's execve. Routing one costs a round trip to
// the runtime's signal thread, so they are routed in the background,
// while main goes on. The supervisor's own Notify of every route
// (respawn's setup) routes whichever the background has not routed yet,
// so once it returns all are, in either order.
func routeHarmless() {
	signal.Notify(Child, syscall.SIGCHLD)
	signal.Notify(Dump, syscall.SIGUSR1)
	signal.Notify(Revive, syscall.SIGUSR2)
	signal.Notify(Winch, syscall.SIGWINCH)
}

func init() {
	if preflight(os.Args) {
		return
	}
	routeFatal()
	go routeHarmless()
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
