//go:build !linux

package notify

import (
	"errors"
	"fmt"
)

// clientConn is not available on this system.
type clientConn struct{}

func newClient(addr string) (*Client, error) {
	return nil, fmt.Errorf("notify: NOTIFY_SOCKET %s: %w", addr, errors.ErrUnsupported)
}

func (c *clientConn) send(string, string) error { return errors.ErrUnsupported }
func (c *clientConn) close() error              { return nil }
