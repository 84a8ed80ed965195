//go:build linux

package test

import (
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// Every feature on at once (respawn under systemd with its watchdog, a
// heartbeat registrant, a --ready --watchdog server that pings), then
// floods of SIGHUP and SIGUSR1: the upgrades coalesce, and afterwards
// the registrant is still registered and beating, the server still
// ready and pinged (never aborted), and systemd still hears keepalives.
func TestAllFeaturesAcrossHupFlood(t *testing.T) {
	n := listenSystemd(t, filepath.Join(t.TempDir(), "notify"), true)
	dir := heartbeatDir(t)
	file := filepath.Join(t.TempDir(), "db")
	args := append([]string{"--heartbeat-dir=" + dir}, shellGroup(t, dir, "web", 200, 5, "kill", -1)...)
	args = append(args, "{", "@db", "--ready", "--watchdog=5s", selfBin, "helper", "sdnotify", file, "READY=1", "ping:100000:200ms", "}")
	s := beginUnderSystemd(t, n, []string{"NOTIFY_SOCKET=" + n.addr, "WATCHDOG_USEC=3000000"}, false, args...)
	web, db := waitAlivePid(s, 1), waitAlivePid(s, 2)
	registered(s, web)
	first := n.wait(0, "READY=1")
	s.waitLog(1, msg("ready", "name", "db"))
	for round := 0; round < 3; round++ {
		for i := 0; i < 20; i++ {
			s.signal(unix.SIGHUP)
			s.signal(unix.SIGUSR1)
		}
		s.waitLog(round+1, msg("respawn upgraded"))
	}
	eventually(t, "the upgrades settle", func() bool {
		c := s.count(msg("respawn upgraded"))
		s.dump(s.count(msg("info dump")) + 1)
		return s.count(msg("respawn upgraded")) == c
	})
	r := n.wait(first, "RELOADING=1")
	ready := n.wait(r+1, "READY=1")
	eventually(t, "keepalives from the last image", func() bool { return n.count(ready, "WATCHDOG=1") >= 2 })
	before := registrants(heartbeatSection(t, s))[web]
	if before == nil {
		t.Fatalf("registrant %d lost across the upgrades", web)
	}
	eventually(t, "the registrant beats in the last image", func() bool {
		now := registrants(heartbeatSection(t, s))[web]
		return now != nil && now["beats"].(float64) > before["beats"].(float64)
	})
	received := func() float64 {
		nd, _ := s.dump(s.count(msg("info dump")) + 1)["notify"].(map[string]any)
		if nd == nil {
			return -1
		}
		return nd["received"].(float64)
	}
	was := received()
	eventually(t, "the server's pings taken in the last image", func() bool { return received() > was })
	d := s.dump(s.count(msg("info dump")) + 1)
	if p := dumpServer(d, 1)["pid"]; p != float64(web) {
		t.Errorf("web is pid %v, was %d", p, web)
	}
	if p := dumpServer(d, 2)["pid"]; p != float64(db) {
		t.Errorf("db is pid %v, was %d", p, db)
	}
	for _, bad := range []string{"watchdog: no WATCHDOG=1 in time: SIGABRT", "heartbeat: deadline missed", "DEAD", "BURIED"} {
		if c := s.count(msg(bad)); c != 0 {
			t.Errorf("%d lines %q", c, bad)
		}
	}
	s.stop()
}
