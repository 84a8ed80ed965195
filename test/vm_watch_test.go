//go:build linux

package test

import "testing"

// vmVictim is a daemon the init script starts before it executes respawn:
// not one of respawn's servers, in a session of its own.
const vmVictim = `#!/bin/sh
echo $$ > /tmp/victim
sleep 1000
`

// vmCheckWatch waits until respawn watches the victim (respawnctl list),
// kills it, waits until respawn has started it again as a server, then
// sends SIGTERM to PID 1.
const vmCheckWatch = `#!/bin/sh
i=0
until respawnctl list 2>/dev/null | grep victim | grep -q WATCHED; do
	i=$((i+1)); [ $i -lt 100 ] || { echo "CHECK victim never watched"; respawnctl list; exit 1; }
	sleep 0.1
done
echo "CHECK victim watched"
kill -KILL $(cat /tmp/victim)
i=0
until respawnctl list 2>/dev/null | grep victim | grep -q ALIVE; do
	i=$((i+1)); [ $i -lt 100 ] || { echo "CHECK victim not restarted"; respawnctl list; exit 1; }
	sleep 0.1
done
echo "CHECK victim restarted"
kill -TERM 1
exec sleep 1000
`

// TestVMWatchRestarts boots respawn --watch-name as the machine's PID 1,
// in the initial namespaces where the proc connector tells every
// process's exec and exit: a daemon the init script started before
// respawn, killed, is started again as respawn's server; then SIGTERM
// powers the machine off.
func TestVMWatchRestarts(t *testing.T) {
	r := vm{
		early: "mount -t proc proc /proc\nsetsid /bin/victim &",
		args:  []string{"--watch-action=restart", "--watch-name=victim", "{", "@check", "/bin/check", "}"},
		files: map[string]string{"bin/victim": vmVictim, "bin/check": vmCheckWatch},
	}.boot(t)
	defer func() {
		if t.Failed() {
			t.Logf("console:\n%s", r.console)
		}
	}()
	vmWant(t, r, "CHECK victim watched", "restarting watched process as a server", "CHECK victim restarted",
		"shutting down", "respawn: powering off", "reboot: Power down")
}
