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

// sdNotify is respawn's side of systemd's notification protocol, when
// systemd runs respawn as a Type=notify (or notify-reload) service and
// gives it NOTIFY_SOCKET: READY=1 once every server has been started,
// STATUS= with the counts when they change (at most once every
// statusEvery), WATCHDOG=1 at half of WATCHDOG_USEC while respawn is
// healthy (see unhealthy), RELOADING=1 and READY=1 around a live upgrade,
// STOPPING=1 when a stop begins. Only the event loop touches it; a send
// never waits (see notify.Client), and one that fails is logged once.
type sdNotify struct {
	client *notify.Client // nil: no NOTIFY_SOCKET, or an unusable one (logged)
	env    []string       // NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID as respawn got them
	every  time.Duration  // WATCHDOG=1 every this long; 0: no watchdog

	petNs    int64 // CLOCK_MONOTONIC of the last WATCHDOG=1, ns; 0: none yet
	nextPet  int64 // when the next one is due, while every is set
	unpetted bool  // keepalives stopped for ill health, and that was logged

	status    string // the last STATUS= sent
	statusSeq uint64 // the transition it was counted after (Supervisor.seq)
	statusNs  int64  // when it was sent
	statusDue bool   // a change waits for statusNs+statusEvery

	timer *time.Timer
	c     <-chan time.Time // the timer's channel while armed, else nil
	at    int64            // what the timer is armed for, while c is set

	failing bool // the last send failed, and was logged
}

// statusEvery is the least time between two STATUS= messages: a storm of
// deaths updates systemd's view once a second, not once per death.
const statusEvery = time.Second

// notifyVars are the variables systemd gives the service itself: servers
// must not see them (sd_notify unsets them for its children for the same
// reason), the new image of a live upgrade must.
var notifyVars = []string{"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"}

// openNotify takes respawn's own environment: it opens the client of
// NOTIFY_SOCKET, if set, reads the watchdog's period, and returns the
// environment without the three variables, which is the one servers get.
// It runs once, as Run sets up.
func (s *Supervisor) openNotify(environ []string) []string {
	n := &s.sd
	rest, vars := splitNotifyEnv(environ)
	n.env = vars
	c, err := notify.ClientFromEnv(func(k string) string { return envOf(vars, k) })
	if err != nil {
		s.log.Error("sd_notify: NOTIFY_SOCKET unusable: not notifying systemd", "err", err)
	}
	if c == nil {
		return rest
	}
	period, err := notify.WatchdogPeriod(envOf(vars, "WATCHDOG_USEC"), envOf(vars, "WATCHDOG_PID"), os.Getpid())
	if err != nil {
		s.log.Error("sd_notify: no watchdog keepalives", "err", err)
	}
	n.client, n.every = c, period/2
	s.log.Info("sd_notify: notifying systemd", "socket", c.Addr(), "watchdog", period.String())
	return rest
}

// splitNotifyEnv splits environ into the notification variables and the
// rest, each in order.
func splitNotifyEnv(environ []string) (rest, vars []string) {
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if slices.Contains(notifyVars, k) {
			vars = append(vars, kv)
		} else {
			rest = append(rest, kv)
		}
	}
	return rest, vars
}

// envOf is the value of k in environ (its last), or "".
func envOf(environ []string, k string) string {
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
	return append(slices.Clip(s.env), s.sd.env...)
}

// notifyReady sends READY=1, with the counts, once the servers have been
// started, or once the new image of a live upgrade has resumed, and arms
// the keepalives: the first is due at once on a first start, within the
// old image's period after an upgrade.
func (s *Supervisor) notifyReady() {
	n := &s.sd
	if n.client == nil || s.stopping {
		return
	}
	now := monotonicNs()
	n.status, n.statusSeq, n.statusNs = s.statusLine(), s.seq, now
	s.notifySend("READY=1\n" + n.status)
	if n.every <= 0 {
		return
	}
	n.nextPet = now
	if n.petNs > 0 {
		n.nextPet = min(max(n.petNs+int64(n.every), now), now+int64(n.every))
	}
	s.notifyArm(n.nextPet)
}

// notifyStopping sends STOPPING=1 as a stop of respawn begins.
func (s *Supervisor) notifyStopping() {
	if s.sd.client != nil {
		s.notifySend("STOPPING=1")
	}
}

// notifyReloading sends RELOADING=1 just before the execve of a live
// upgrade: systemd learns that the service reloads (the pid stays), and
// waits for the new image's READY=1. MONOTONIC_USEC tells it when, as
// Type=notify-reload requires.
func (s *Supervisor) notifyReloading() {
	if s.sd.client != nil {
		s.notifySend("RELOADING=1\nMONOTONIC_USEC=" + strconv.FormatInt(monotonicNs()/1000, 10))
	}
}

// notifyReloadFailed sends READY=1 after a live upgrade's execve failed:
// the old image goes on.
func (s *Supervisor) notifyReloadFailed() {
	if s.sd.client != nil {
		s.notifySend("READY=1")
	}
}

// notifyChanges runs after each turn of the loop: if a record changed
// state since the last STATUS=, it sends the new counts, or, within
// statusEvery of the last, arms the timer to send them then.
func (s *Supervisor) notifyChanges() {
	n := &s.sd
	if n.client == nil || n.statusSeq == s.seq || n.statusDue {
		return
	}
	now := monotonicNs()
	if at := n.statusNs + int64(statusEvery); now < at {
		n.statusDue = true
		s.notifyArm(at)
		return
	}
	s.notifyStatus(now)
}

// notifyStatus sends the counts if they differ from the last sent.
func (s *Supervisor) notifyStatus(now int64) {
	n := &s.sd
	n.statusDue, n.statusSeq, n.statusNs = false, s.seq, now
	if line := s.statusLine(); line != n.status {
		n.status = line
		s.notifySend(line)
	}
}

// statusLine is STATUS= with the count of servers in each state.
func (s *Supervisor) statusLine() string {
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

// onNotifyTimer sends what is due: a keepalive, the counts held back.
func (s *Supervisor) onNotifyTimer() {
	n := &s.sd
	n.c = nil
	now := monotonicNs()
	if n.every > 0 && now >= n.nextPet {
		s.notifyPet(now)
	}
	if n.statusDue && now >= n.statusNs+int64(statusEvery) {
		s.notifyStatus(now)
	}
	if n.every > 0 {
		s.notifyArm(n.nextPet)
	}
	if n.statusDue {
		s.notifyArm(n.statusNs + int64(statusEvery))
	}
}

// notifyPet sends WATCHDOG=1 if respawn is healthy, from the event loop
// only, as every watchdog's keepalive; it logs once when keepalives stop
// for ill health and once when they resume.
func (s *Supervisor) notifyPet(now int64) {
	n := &s.sd
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
	s.notifySend("WATCHDOG=1")
}

// notifyArm makes sure the timer fires by at.
func (s *Supervisor) notifyArm(at int64) {
	n := &s.sd
	if n.c != nil && n.at <= at {
		return
	}
	n.c, n.at = armAt(&n.timer, at), at
}

// notifySend sends msg; the first failure after a success is logged, and
// the next success after failures.
func (s *Supervisor) notifySend(msg string) {
	n := &s.sd
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

// notifyRecord is the notification state a live upgrade carries, or nil
// without NOTIFY_SOCKET.
func (s *Supervisor) notifyRecord() *marshal.Notify {
	if s.sd.client == nil {
		return nil
	}
	return &marshal.Notify{PetNs: s.sd.petNs, Unpetted: s.sd.unpetted}
}

// loadNotify takes the notification state a snapshot carried: the time
// of the last keepalive, so that the next is due within the period.
func (s *Supervisor) loadNotify(snap *marshal.Snapshot) {
	if m := snap.Notify; m != nil {
		s.sd.petNs, s.sd.unpetted = m.PetNs, m.Unpetted
	}
}
