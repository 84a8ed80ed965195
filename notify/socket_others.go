//go:build !linux

package notify

import (
	"errors"
	"fmt"
)

// Conn is the receiving socket, which needs Linux.
type Conn struct{}

var errUnsupported = fmt.Errorf("notify: %w", errors.ErrUnsupported)

// Listen is not supported here.
func Listen() (*Conn, error) { return nil, errUnsupported }

// Adopt is not supported here.
func Adopt(fd int) (*Conn, error) { return nil, errUnsupported }

func (c *Conn) Addr() string                              { return "" }
func (c *Conn) FD() int                                   { return -1 }
func (c *Conn) Close() error                              { return errUnsupported }
func (c *Conn) Wait() error                               { return errUnsupported }
func (c *Conn) Receive() (d Datagram, ok bool, err error) { return d, false, errUnsupported }

// Close does nothing here.
func (d *Datagram) Close() {}

// SamePid is false here.
func (d *Datagram) SamePid() bool { return false }
