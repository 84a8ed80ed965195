package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"syscall"
	"time"

	"respawn/control"
	"respawn/respawn"
)

// upgrade asks for the live upgrade and waits for the new image to
// answer. A successful upgrade answers nothing: execve closes the
// connection. So the generation is read first, and after the connection
// ends the socket is polled (connections made during the exec window wait
// in its backlog) until the dump shows the upgrade.
func (c *ctl) upgrade() int {
	req := control.Request{Cmd: "upgrade"}
	before, err := c.dump()
	if err != nil {
		return c.fail(err)
	}
	ans, raw, err := c.once(req)
	switch {
	case err == nil && !ans.OK:
		if c.json {
			c.out.Write(raw)
		}
		return c.failed(req, ans)
	case err != nil && !errors.Is(err, errNoAnswer):
		return c.fail(err)
	}
	after, err := c.awaitUpgrade(before)
	if err != nil {
		return c.fail(err)
	}
	if after.Pid != before.Pid {
		return c.fail(fmt.Errorf("upgrade: another supervisor (pid %d, was %d) answers at %s", after.Pid, before.Pid, c.path))
	}
	if c.json {
		b, _ := json.Marshal(map[string]any{"ok": true, "generation": after.Generation, "previous_generation": before.Generation, "pid": after.Pid,
			"version": after.Version, "previous_version": before.Version})
		fmt.Fprintf(c.out, "%s\n", b)
		return exitOK
	}
	version := esc(after.Version)
	if after.Version != before.Version {
		version += " (was " + esc(before.Version) + ")"
	}
	fmt.Fprintf(c.out, "upgraded: pid %d, generation %d (was %d), version %s\n", after.Pid, after.Generation, before.Generation, version)
	return exitOK
}

// dump returns the supervisor's dump.
func (c *ctl) dump() (respawn.Dump, error) {
	req := control.Request{Cmd: "dump"}
	ans, _, err := c.once(req)
	switch {
	case err != nil:
		return respawn.Dump{}, err
	case !ans.OK && ans.Code == control.CodeRefused:
		return respawn.Dump{}, fmt.Errorf("refused by the supervisor at %s: %s", c.path, esc(ans.Error))
	case !ans.OK:
		return respawn.Dump{}, fmt.Errorf("dump: %s", esc(ans.Error))
	case ans.Dump == nil:
		return respawn.Dump{}, errors.New("dump: answer without a dump")
	}
	return *ans.Dump, nil
}

// awaitUpgrade polls the dump until it shows an upgrade after before, or
// the timeout passes. While the new image starts, the socket may refuse
// or not answer: that is retried.
func (c *ctl) awaitUpgrade(before respawn.Dump) (respawn.Dump, error) {
	deadline := time.Now().Add(c.timeout)
	var last error
	for time.Now().Before(deadline) {
		d, err := c.dump()
		if err == nil && (d.Generation != before.Generation || d.LastUpgrade != before.LastUpgrade) {
			return d, nil
		}
		if err != nil && !transient(err) {
			return respawn.Dump{}, err
		}
		if err == nil {
			err = fmt.Errorf("still generation %d", d.Generation)
		}
		last = err
		time.Sleep(20 * time.Millisecond)
	}
	return respawn.Dump{}, fmt.Errorf("upgrade: no new generation within %s (%v)", c.timeout, last)
}

// transient tells the errors of a supervisor between two images.
func transient(err error) bool {
	return errors.Is(err, errNoAnswer) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.ECONNRESET)
}
