//go:build !linux

package capture

import (
	"errors"
	"fmt"
	"time"
)

var errUnsupported = fmt.Errorf("capture: %w", errors.ErrUnsupported)

// Hub reads captured output; only Linux has it.
type Hub struct{ cfg Config }

// New returns a Hub whose Open and Adopt fail.
func New(cfg Config) *Hub { return &Hub{cfg: cfg} }

// Open is not supported here.
func (h *Hub) Open(name string, f File) (*Pipes, error) { return nil, errUnsupported }

// Adopt is not supported here.
func (h *Hub) Adopt(name string, fds []int, f File) (*Pipes, error) { return nil, errUnsupported }

// Pause has nothing to pause here.
func (h *Hub) Pause(timeout time.Duration) bool { return true }

// Drain has nothing to drain here.
func (h *Hub) Drain(timeout time.Duration) bool { return true }

// Resume has nothing to resume here.
func (h *Hub) Resume() {}

type logFile struct{}
