package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"respawn/control"
	"respawn/marshal"
	"respawn/respawn"
)

// controlRole is the control listener's role among the descriptors a live
// upgrade keeps.
const controlRole = "control"

// controlTimeoutEnv, if set to a duration, replaces the time a client of
// the control socket has to send a complete request (control.DefaultTimeout).
const controlTimeoutEnv = "RESPAWN_CONTROL_TIMEOUT"

// addControl adds the control socket task unless --control=none. After a
// live upgrade snap is non-nil: the listener is the inherited descriptor
// whose role is "control" in snap.FDs, adopted instead of listening anew.
// The listener's descriptor is registered with s.KeepFD("control", fd) so
// that the next upgrade keeps it.
//
// A socket path given with --control that cannot be used (a live
// supervisor serves it, say) is an error, and respawn does not start. The
// default path is only a convenience: if it cannot be used, respawn logs
// why and runs without a control socket.
func addControl(s *respawn.Supervisor, o *options, log *slog.Logger, snap *marshal.Snapshot) error {
	if o.control == "none" {
		return nil
	}
	path := o.control
	if path == "" {
		p, err := control.DefaultPath()
		if err != nil {
			log.Warn("respawn: no control socket", "err", err)
			return nil
		}
		path = p
	}
	ln, inherited, err := controlListener(path, snap, log)
	if err != nil {
		if o.control == "" {
			log.Warn("respawn: no control socket at the default path", "path", path, "err", err)
			return nil
		}
		return err
	}
	fd, err := control.FD(ln)
	if err != nil {
		ln.Close()
		return err
	}
	s.KeepFD(controlRole, fd)
	srv := &control.Server{Sup: s, Log: log, Timeout: controlTimeout(log), Task: "control"}
	s.AddTask("control", false, func(ctx context.Context) error {
		err := srv.Serve(ctx, ln)
		if err == nil && stopping(s) {
			closeControl(ln, path, log)
		}
		return err
	})
	log.Info("control socket", "path", path, "inherited", inherited)
	return nil
}

// controlListener adopts the listener a live upgrade kept, or listens
// anew at path. An inherited descriptor that cannot be adopted is closed,
// so that the socket it held reads as stale and is replaced.
func controlListener(path string, snap *marshal.Snapshot, log *slog.Logger) (ln *net.UnixListener, inherited bool, err error) {
	if snap != nil {
		for _, fd := range snap.FDs {
			if fd.Role != controlRole {
				continue
			}
			adopted, aerr := control.FromFD(fd.FD)
			if aerr == nil {
				return adopted, true, nil
			}
			log.Warn("respawn: inherited control socket unusable, listening anew", "fd", fd.FD, "err", aerr)
		}
	}
	ln, err = control.Listen(path)
	return ln, false, err
}

// stopping asks the event loop whether the supervisor is shutting down:
// the control task's context is cancelled then, and never for an upgrade,
// which keeps the listener for the new image.
func stopping(s *respawn.Supervisor) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st := false
	s.Do(ctx, func(s *respawn.Supervisor) { st = s.Stopping() })
	return st
}

// closeControl closes the listener and removes the socket file, so that
// clients are told at once that no supervisor is there.
func closeControl(ln *net.UnixListener, path string, log *slog.Logger) {
	if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		log.Warn("respawn: control socket close", "err", err)
	}
	if err := control.Remove(path); err != nil {
		log.Warn("respawn: control socket not removed", "path", path, "err", err)
	}
}

func controlTimeout(log *slog.Logger) time.Duration {
	v := os.Getenv(controlTimeoutEnv)
	if v == "" {
		return 0
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		log.Warn(fmt.Sprintf("respawn: %s=%q ignored: want a positive duration", controlTimeoutEnv, v))
		return 0
	}
	return d
}
