package respawn

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"respawn/hw"
)

// fakeDevice stands in for a watchdog device in these tests of the
// petting logic: it counts what the loop does to it. The real devices
// are driven in the VM tests (test/vm_watchdog_test.go).
type fakeDevice struct {
	keepalives, disarms, fires int
	failKeepalive              error
	noMagic                    bool
}

func (f *fakeDevice) FD() int { return 99 }
func (f *fakeDevice) Keepalive() error {
	if f.failKeepalive != nil {
		return f.failKeepalive
	}
	f.keepalives++
	return nil
}

func (f *fakeDevice) Disarm() error {
	f.disarms++
	if f.noMagic {
		return hw.ErrNoMagicClose
	}
	return nil
}
func (f *fakeDevice) Fire() error { f.fires++; return nil }

// watchdogSupervisor is a supervisor, not run, with servers a and b, the
// second required, and the watchdog task holding a fake device.
func watchdogSupervisor(t *testing.T, resetOnBuried bool) (*Supervisor, *fakeDevice, *bytes.Buffer) {
	t.Helper()
	cfg, log := loggedConfig()
	cfg.Watchdog = &WatchdogConfig{Device: "/dev/watchdog0", ResetOnBuried: resetOnBuried}
	cfg.Require = []string{"b"}
	s := New(cfg, []Spec{{Name: "a", Argv: []string{"sleep"}}, {Name: "b", Argv: []string{"sleep"}}})
	s.AddTask("other", false, func(context.Context) error { return nil })
	for _, r := range s.recs {
		r.State = Alive
	}
	dev := &fakeDevice{}
	s.watchdogStarted(dev, watchdogState{timeout: 2 * time.Second})
	t.Cleanup(s.wd.disarmTimer)
	return s, dev, log
}

// The loop pets only while every task but the watchdog is alive and the
// required server is not buried; it says once why it stopped, and again
// when it pets again.
func TestWatchdogPetsOnlyWhileHealthy(t *testing.T) {
	s, dev, log := watchdogSupervisor(t, false)
	tick := func(want int) {
		t.Helper()
		s.onWatchdogTick()
		if dev.keepalives != want {
			t.Fatalf("%d keepalives; want %d", dev.keepalives, want)
		}
	}
	tick(1)
	s.byName["a"].State = Buried // not required
	tick(2)
	s.byName["b"].State = Dead // restarting
	tick(3)
	s.byName["b"].State = Buried
	tick(3)
	tick(3)
	if n := strings.Count(log.String(), "not petting"); n != 1 {
		t.Errorf("%d lines say it stopped petting; want 1:\n%s", n, log)
	}
	if in := s.watchdogInfo(); in.Petting || !strings.Contains(in.Why, "required server b is BURIED") {
		t.Errorf("info says petting=%t why=%q", in.Petting, in.Why)
	}
	s.byName["b"].State = Alive
	tick(4)
	if !strings.Contains(log.String(), "petting again") {
		t.Errorf("no line says it pets again:\n%s", log)
	}
	s.byName["other"].State = Buried
	tick(4)
	s.byName["other"].permanent = true // it cannot work here: no reset would mend it
	tick(5)
	s.byName["other"].State, s.byName["other"].permanent = Cremated, false // an operator stopped it
	tick(6)
	s.wd.task.State = Buried // the watchdog's own task does not count
	s.byName["other"].State = Alive
	tick(7)
	s.byName["b"].State = Cremated
	tick(7)
	s.stopping = true // a shutdown: the loop turning is enough
	tick(8)
}

// A keepalive that fails disarms the device, stops the ticks and tells
// the task, which buries itself.
func TestWatchdogKeepaliveFails(t *testing.T) {
	s, dev, log := watchdogSupervisor(t, false)
	dev.failKeepalive = errors.New("EIO")
	s.onWatchdogTick()
	if dev.disarms != 1 || s.wd.dev != nil || s.petC() != nil {
		t.Fatalf("after a failed keepalive: %d disarms, device %v, timer %v", dev.disarms, s.wd.dev, s.petC())
	}
	select {
	case err := <-s.wd.failed:
		if !strings.Contains(err.Error(), "keepalive: EIO") {
			t.Errorf("the task is told %v", err)
		}
	default:
		t.Error("the task is not told")
	}
	if !strings.Contains(log.String(), "the device failed") {
		t.Errorf("not logged:\n%s", log)
	}
}

// A clean end disarms; an end forced by a burial leaves the device to
// fire; a driver without the magic close is said to fire.
func TestWatchdogEnd(t *testing.T) {
	s, dev, _ := watchdogSupervisor(t, false)
	s.watchdogEnd()
	if dev.disarms != 1 || s.wd.dev != nil {
		t.Errorf("clean end: %d disarms", dev.disarms)
	}
	s, dev, log := watchdogSupervisor(t, false)
	s.buriedStatus = 1
	s.watchdogEnd()
	if dev.disarms != 0 || !strings.Contains(log.String(), "left armed") {
		t.Errorf("end by burial: %d disarms\n%s", dev.disarms, log)
	}
	s, dev, log = watchdogSupervisor(t, false)
	dev.noMagic = true
	s.watchdogEnd()
	if !strings.Contains(log.String(), "no magic close: the device fires") {
		t.Errorf("no magic close not said:\n%s", log)
	}
}

// --watchdog-reset-on=buried fires at a server's burial, not a task's.
func TestWatchdogResetOnBuried(t *testing.T) {
	s, dev, _ := watchdogSupervisor(t, true)
	s.enter(s.byName["other"], Buried, Exit{})
	if dev.fires != 0 {
		t.Fatal("a task's burial fired")
	}
	s.enter(s.byName["a"], Buried, Exit{})
	if dev.fires != 1 || s.wd.dev != nil || s.watchdogInfo().State != "fired" {
		t.Fatalf("a server's burial: %d fires, state %s", dev.fires, s.watchdogInfo().State)
	}
	if err := s.FireWatchdog(); err == nil {
		t.Error("fire-watchdog with the device closed succeeded")
	}
}

// The phase rides in the snapshot: the new image's first tick comes one
// interval after the last keepalive, not one interval after it starts.
func TestWatchdogSnapshotPhase(t *testing.T) {
	s, dev, _ := watchdogSupervisor(t, false)
	s.freezeWatchdog()
	if dev.keepalives != 1 || s.wd.timer == nil {
		t.Fatalf("freeze: %d keepalives", dev.keepalives)
	}
	m := s.watchdogRecord()
	if m == nil || m.TimeoutNs != int64(2*time.Second) || m.LastPetNs != s.wd.lastPet {
		t.Fatalf("record %+v", m)
	}
	s.onWatchdogTick() // frozen: no keepalive from the old image
	if dev.keepalives != 1 {
		t.Fatal("a keepalive while frozen")
	}
	n, _, _ := watchdogSupervisor(t, false)
	n.wd.dev = nil
	n.wd.inherited = &inheritedWatchdog{fd: 7, state: watchdogState{timeout: time.Duration(m.TimeoutNs), lastPet: m.LastPetNs, pets: m.Pets}}
	n.watchdogStarted(&fakeDevice{}, n.wd.inherited.state)
	if want := m.LastPetNs + int64(time.Second); n.wd.due != want {
		t.Errorf("next tick at %d; want %d (one interval after the last keepalive)", n.wd.due, want)
	}
}

// loggedConfig is quietConfig with the log kept, to read.
func loggedConfig() (Config, *bytes.Buffer) {
	var b bytes.Buffer
	cfg := quietConfig()
	cfg.Log = slog.New(slog.NewTextHandler(&b, nil))
	return cfg, &b
}

// A task stopped and started again opens the device again, and the loop
// pets it again: the ticks must come back after the disarm took them.
func TestWatchdogStartedAgainPets(t *testing.T) {
	s, dev, _ := watchdogSupervisor(t, false)
	s.watchdogEnded()
	if dev.disarms != 1 || s.petC() != nil {
		t.Fatalf("the task's end: %d disarms, ticks %v", dev.disarms, s.petC())
	}
	again := &fakeDevice{}
	s.watchdogStarted(again, watchdogState{timeout: 2 * time.Second})
	select {
	case <-s.petC():
		s.onWatchdogTick()
	case <-time.After(5 * time.Second):
		t.Fatal("no tick after the device was opened again")
	}
	if again.keepalives != 1 {
		t.Errorf("%d keepalives after the device was opened again; want 1", again.keepalives)
	}
}

// ownDescriptor finds a descriptor of this process on the device a path
// names (here /dev/null, opened for the test), and none for a file that
// is not a character device.
func TestOwnDescriptor(t *testing.T) {
	f, err := os.Open("/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fd := ownDescriptor("/dev/null")
	var a, b unix.Stat_t
	if fd < 0 || unix.Fstat(fd, &a) != nil || unix.Stat("/dev/null", &b) != nil || a.Rdev != b.Rdev {
		t.Fatalf("ownDescriptor(/dev/null) = %d", fd)
	}
	if fd := ownDescriptor(t.TempDir()); fd != -1 {
		t.Errorf("a directory gave descriptor %d", fd)
	}
}
