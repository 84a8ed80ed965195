package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"respawn/control"
)

// events prints every transition until interrupted (SIGINT or SIGTERM,
// exit 0) or until the supervisor closes the stream (exit 1).
func (c *ctl) events() int {
	req := control.Request{Cmd: "events"}
	cn, err := c.dial()
	if err != nil {
		return c.fail(err)
	}
	defer cn.c.Close()
	ans, raw, err := c.call(cn, req)
	if err != nil {
		return c.fail(err)
	}
	if c.json {
		c.out.Write(raw)
	}
	if !ans.OK {
		return c.failed(req, ans)
	}
	_ = cn.c.SetDeadline(time.Time{})
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	left := make(chan struct{})
	go func() {
		<-sigs
		close(left)
		cn.c.Close()
	}()
	err = c.copyEvents(cn)
	select {
	case <-left:
		return exitOK
	default:
	}
	if err == nil {
		err = errors.New("events: the supervisor closed the stream")
	}
	return c.fail(err)
}

// copyEvents prints the stream until it ends; nil means a clean end.
func (c *ctl) copyEvents(cn *conn) error {
	for {
		line, err := cn.r.ReadBytes('\n')
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("events: %w", err)
		}
		if c.json {
			if _, err := c.out.Write(line); err != nil {
				return fmt.Errorf("events: %w", err)
			}
			continue
		}
		var l control.StreamLine
		if err := json.Unmarshal(line, &l); err != nil {
			return fmt.Errorf("events: unreadable line: %w", err)
		}
		writeEvent(c.out, l)
	}
}
