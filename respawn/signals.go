package respawn

import (
	"os"
	"syscall"
)

// Signals are the channels the handled signals arrive on, one per kind, so
// that a flood of one kind never crowds out another (signal.Notify drops
// a signal that does not fit). A channel of capacity 1 is a pending flag:
// a flood of that kind coalesces into one. Stop holds two stop signals:
// the first stops, the second kills at once.
type Signals struct {
	Stop    chan os.Signal // SIGTERM, SIGINT, SIGQUIT; capacity 2
	Child   chan os.Signal // SIGCHLD
	Dump    chan os.Signal // SIGUSR1
	Revive  chan os.Signal // SIGUSR2
	Upgrade chan os.Signal // SIGHUP
	Winch   chan os.Signal // SIGWINCH
	Pipe    chan os.Signal // SIGPIPE
}

// NewSignals returns channels with the capacities Signals documents.
func NewSignals() *Signals {
	one := func() chan os.Signal { return make(chan os.Signal, 1) }
	return &Signals{Stop: make(chan os.Signal, 2), Child: one(), Dump: one(), Revive: one(), Upgrade: one(), Winch: one(), Pipe: one()}
}

// route is which signals go to which channel.
type route struct {
	c    chan os.Signal
	sigs []os.Signal
}

func (c *Signals) routes() []route {
	return []route{
		{c.Stop, []os.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT}},
		{c.Child, []os.Signal{syscall.SIGCHLD}},
		{c.Dump, []os.Signal{syscall.SIGUSR1}},
		{c.Revive, []os.Signal{syscall.SIGUSR2}},
		{c.Upgrade, []os.Signal{syscall.SIGHUP}},
		{c.Winch, []os.Signal{syscall.SIGWINCH}},
		// Routed so that a vanished log reader is EPIPE, not death.
		{c.Pipe, []os.Signal{syscall.SIGPIPE}},
	}
}

// Route returns the channel sig arrives on, or nil if respawn does not
// handle sig.
func (c *Signals) Route(sig os.Signal) chan os.Signal {
	for _, rt := range c.routes() {
		for _, x := range rt.sigs {
			if x == sig {
				return rt.c
			}
		}
	}
	return nil
}

// Handled lists the signals the event loop takes. SIGURG, the Go
// runtime's preemption signal, is deliberately absent.
func Handled() []os.Signal {
	var out []os.Signal
	for _, rt := range (&Signals{}).routes() {
		out = append(out, rt.sigs...)
	}
	return out
}
