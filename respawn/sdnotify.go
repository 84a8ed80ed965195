package respawn

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"respawn/marshal"
	"respawn/notify"
)

// underSystemd is respawn's side of systemd's notification protocol, when
// systemd runs respawn as a Type=notify (or notify-reload) service and
// gives it NOTIFY_SOCKET: READY=1 once every server has been started,
// STATUS= with the counts when they change (at most once every
// systemdStatusEvery), WATCHDOG=1 at half of WATCHDOG_USEC while respawn is
// healthy (see unhealthy), RELOADING=1 and READY=1 around a live upgrade,
// STOPPING=1 when a stop begins. Only the event loop touches it; a send
// never waits (see notify.Client), and one that fails is logged once.
type underSystemd struct {
	client *notify.Client // nil: no NOTIFY_SOCKET, or an unusable one (logged)
	env    []string       // NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID as respawn got them
	every  time.Duration  // WATCHDOG=1 every this long; 0: no watchdog

	petNs    int64 // CLOCK_MONOTONIC of the last WATCHDOG=1, ns; 0: none yet
	nextPet  int64 // when the next one is due, while every is set
	unpetted bool  // keepalives stopped for ill health, and that was logged

	status    string // the last STATUS= sent
	statusSeq uint64 // the transition it was counted after (Supervisor.seq)
	statusNs  int64  // when it was sent
	statusDue bool   // a change waits for statusNs+systemdStatusEvery

	timer *time.Timer
	c     <-chan time.Time // the timer's channel while armed, else nil
	at    int64            // what the timer is armed for, while c is set

	failing bool // the last send failed, and was logged
}

// systemdStatusEvery is the least time between two STATUS= messages: a
// storm of deaths updates systemd's view once a second, not once per death.
const systemdStatusEvery = time.Second

// systemdVars are the variables systemd gives the service itself: servers
// must not see them (a server that speaks sd_notify would speak for
// respawn; sd_notify's unset_environment drops them for that reason), the
// new image of a live upgrade must.
var systemdVars = []string{"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"}

// openSystemd takes respawn's own environment: it opens the client of
// NOTIFY_SOCKET, if set, reads the watchdog's period, and returns the
// environment without the three variables, which is the one servers get.
// It runs once, as Run sets up. The client's socket is closed on exec: the
// new image of a live upgrade opens its own.
func (s *Supervisor) openSystemd(environ []string) []string {
	n := &s.systemd
	rest, vars := splitSystemdEnv(environ)
	n.env = vars
	c, err := notify.ClientFromEnv(func(k string) string { return systemdEnvOf(vars, k) })
	if err != nil {
		s.log.Error("sd_notify: NOTIFY_SOCKET unusable: not notifying systemd", "err", err)
	}
	if c == nil {
		return rest
	}
	period, err := notify.WatchdogPeriod(systemdEnvOf(vars, "WATCHDOG_USEC"), systemdEnvOf(vars, "WATCHDOG_PID"), os.Getpid())
	if err != nil {
		s.log.Error("sd_notify: no watchdog keepalives", "err", err)
	}
	n.client, n.every = c, period/2
	s.log.Info("sd_notify: notifying systemd", "socket", c.Addr(), "watchdog", period.String())
	return rest
}

// splitSystemdEnv splits environ into the notification variables and the
// rest, each in order.
func splitSystemdEnv(environ []string) (rest, vars []string) {
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if slices.Contains(systemdVars, k) {
			vars = append(vars, kv)
		} else {
			rest = append(rest, kv)
		}
	}
	return rest, vars
}

// systemdEnvOf is the value of k in environ (its last), or "".
func systemdEnvOf(environ []string, k string) string {
	for i := len(environ) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(environ[i], k+"="); ok {
			return v
		}
	}
	return ""
}

// upgradeEnv is the environment a live upgrade gives the new image:
// respawn's own, the notification variables included.
func (s *Supervisor) upgradeEnv() []string {
	return append(slices.Clip(s.env), s.systemd.env...)
}

// systemdReady sends READY=1, with the counts, once the servers have been
// started, or once the new image of a live upgrade has resumed, and arms
// the keepalives: the first is due at once on a first start, within the
// old image's period after an upgrade.
func (s *Supervisor) systemdReady() {
	n := &s.systemd
	if n.client == nil || s.stopping {
		return
	}
	now := monotonicNs()
	n.status, n.statusSeq, n.statusNs = s.systemdStatusLine(), s.seq, now
	s.systemdSend("READY=1\n" + n.status)
	if n.every <= 0 {
		return
	}
	n.nextPet = now
	if n.petNs > 0 {
		n.nextPet = min(max(n.petNs+int64(n.every), now), now+int64(n.every))
	}
	s.systemdArm(n.nextPet)
}

// systemdStopping sends STOPPING=1 as a stop of respawn begins.
func (s *Supervisor) systemdStopping() {
	if s.systemd.client != nil {
		s.systemdSend("STOPPING=1")
	}
}

// systemdReloading sends RELOADING=1 just before the execve of a live
// upgrade: systemd learns that the service reloads (the pid stays), and
// waits for the new image's READY=1. MONOTONIC_USEC tells it when, as
// Type=notify-reload requires.
func (s *Supervisor) systemdReloading() {
	if s.systemd.client != nil {
		s.systemdSend("RELOADING=1\nMONOTONIC_USEC=" + strconv.FormatInt(monotonicNs()/1000, 10))
	}
}

// systemdReloadFailed sends READY=1 after a live upgrade's execve failed:
// the old image goes on.
func (s *Supervisor) systemdReloadFailed() {
	if s.systemd.client != nil {
		s.systemdSend("READY=1")
	}
}

// systemdChanges runs after each turn of the loop: if a record changed
// state since the last STATUS=, it sends the new counts, or, within
// systemdStatusEvery of the last, arms the timer to send them then.
func (s *Supervisor) systemdChanges() {
	n := &s.systemd
	if n.client == nil || n.statusSeq == s.seq || n.statusDue {
		return
	}
	now := monotonicNs()
	if at := n.statusNs + int64(systemdStatusEvery); now < at {
		n.statusDue = true
		s.systemdArm(at)
		return
	}
	s.systemdStatus(now)
}

// systemdStatus sends the counts if they differ from the last sent.
func (s *Supervisor) systemdStatus(now int64) {
	n := &s.systemd
	n.statusDue, n.statusSeq, n.statusNs = false, s.seq, now
	if line := s.systemdStatusLine(); line != n.status {
		n.status = line
		s.systemdSend(line)
	}
}

// systemdStatusLine is STATUS= with the count of servers in each state.
func (s *Supervisor) systemdStatusLine() string {
	var by [nStates]int
	total := 0
	for _, r := range s.recs {
		if r.task == nil {
			by[r.State]++
			total++
		}
	}
	line := fmt.Sprintf("STATUS=%d servers: %d alive, %d dead, %d buried, %d cremated",
		total, by[Alive], by[Dead], by[Buried], by[Cremated])
	if by[Unborn] > 0 {
		line += fmt.Sprintf(", %d unborn", by[Unborn])
	}
	return line
}

// onSystemdTimer sends what is due: a keepalive, the counts held back.
func (s *Supervisor) onSystemdTimer() {
	n := &s.systemd
	n.c = nil
	now := monotonicNs()
	if n.every > 0 && now >= n.nextPet {
		s.systemdPet(now)
	}
	if n.statusDue && now >= n.statusNs+int64(systemdStatusEvery) {
		s.systemdStatus(now)
	}
	if n.every > 0 {
		s.systemdArm(n.nextPet)
	}
	if n.statusDue {
		s.systemdArm(n.statusNs + int64(systemdStatusEvery))
	}
}

// systemdPet sends WATCHDOG=1 if respawn is healthy, from the event loop
// only, as every watchdog's keepalive; it logs once when keepalives stop
// for ill health and once when they resume.
func (s *Supervisor) systemdPet(now int64) {
	n := &s.systemd
	n.nextPet = now + int64(n.every)
	if why := s.unhealthy(); why != "" {
		if !n.unpetted {
			s.log.Error("sd_notify: watchdog keepalives stopped: systemd's watchdog will fire", "reason", why)
			n.unpetted = true
		}
		return
	}
	if n.unpetted {
		s.log.Info("sd_notify: watchdog keepalives resumed")
		n.unpetted = false
	}
	n.petNs = now
	s.systemdSend("WATCHDOG=1")
}

// systemdArm makes sure the timer fires by at.
func (s *Supervisor) systemdArm(at int64) {
	n := &s.systemd
	if n.c != nil && n.at <= at {
		return
	}
	n.c, n.at = armAt(&n.timer, at), at
}

// systemdSend sends msg; the first failure after a success is logged, and
// the next success after failures.
func (s *Supervisor) systemdSend(msg string) {
	n := &s.systemd
	err := n.client.Send(msg)
	switch {
	case err != nil && !n.failing:
		s.log.Warn("sd_notify: not delivered (further failures are not logged until one is)", "err", err)
		n.failing = true
	case err == nil && n.failing:
		s.log.Info("sd_notify: delivered again")
		n.failing = false
	}
}

// systemdRecord is the notification state a live upgrade carries, or nil
// without NOTIFY_SOCKET.
func (s *Supervisor) systemdRecord() *marshal.Systemd {
	if s.systemd.client == nil {
		return nil
	}
	return &marshal.Systemd{PetNs: s.systemd.petNs, Unpetted: s.systemd.unpetted}
}

// loadSystemd takes the notification state a snapshot carried: the time
// of the last keepalive, so that the next is due within the period.
func (s *Supervisor) loadSystemd(snap *marshal.Snapshot) {
	if m := snap.Systemd; m != nil {
		s.systemd.petNs, s.systemd.unpetted = m.PetNs, m.Unpetted
	}
}
