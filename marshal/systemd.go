package marshal

import "fmt"

// Systemd is respawn's side of systemd's notification protocol (respawn
// under systemd, NOTIFY_SOCKET) across a live upgrade: the watchdog's
// phase, so that the new image sends its first WATCHDOG=1 within the
// period the old one started, and whether keepalives had stopped (the
// supervisor unhealthy), so that a stop or a resumption is logged once.
type Systemd struct {
	PetNs    int64 `msgpack:"pet"`      // raw CLOCK_MONOTONIC of the last WATCHDOG=1, ns; 0: none sent
	Unpetted bool  `msgpack:"unpetted"` // keepalives had stopped
}

// MaxSystemdNs bounds Systemd.PetNs: a monotonic time past it is forged.
const MaxSystemdNs = 1 << 62

func (n *Systemd) validate() error {
	if n != nil && (n.PetNs < 0 || n.PetNs > MaxSystemdNs) {
		return fmt.Errorf("marshal: systemd: last keepalive at %d", n.PetNs)
	}
	return nil
}
