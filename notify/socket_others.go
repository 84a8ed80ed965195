//go:build !linux

package notify

import (
	"errors"
	"fmt"
)

// Conn is the receiving socket, which needs Linux.
type Conn struct{}

var errNoReceiver = fmt.Errorf("notify: %w", errors.ErrUnsupported)

// Listen is not supported here.
func Listen() (*Conn, error) { return nil, errNoReceiver }

// Adopt is not supported here.
func Adopt(fd int) (*Conn, error) { return nil, errNoReceiver }

func (c *Conn) Addr() string                              { return "" }
func (c *Conn) FD() int                                   { return -1 }
func (c *Conn) Close() error                              { return errNoReceiver }
func (c *Conn) Wait() error                               { return errNoReceiver }
func (c *Conn) Receive() (d Datagram, ok bool, err error) { return d, false, errNoReceiver }

// Close does nothing here.
func (d *Datagram) Close() {}

// SamePid is false here.
func (d *Datagram) SamePid() bool { return false }
