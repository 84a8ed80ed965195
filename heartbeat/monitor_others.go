//go:build !linux

package heartbeat

import (
	"context"
	"errors"
	"fmt"
)

type sys struct{}

var errUnsupported = fmt.Errorf("heartbeat: needs Linux: %w", errors.ErrUnsupported)

// New fails: the monitor needs Linux (inotify, epoll, pidfds, /proc).
func New(cfg Config) (*Monitor, error) { return nil, errUnsupported }

// Run fails.
func (m *Monitor) Run(ctx context.Context) error { return errUnsupported }

// Adopt does nothing.
func (m *Monitor) Adopt(h Handover) {}

func monotonicNs() int64 { return 0 }
