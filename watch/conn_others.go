//go:build !linux

package watch

import (
	"errors"
	"fmt"
)

// Conn is the proc connector socket.
type Conn struct{}

var errUnsupported = fmt.Errorf("watch: the proc connector needs Linux: %w", errors.ErrUnsupported)

func open(Options, bool) (*Conn, error)        { return nil, errUnsupported }
func adopt(int, Options, []int) (*Conn, error) { return nil, errUnsupported }

func (c *Conn) fd() int                              { return -1 }
func (c *Conn) isMasked() bool                       { return false }
func (c *Conn) rcvBuf() int                          { return 0 }
func (c *Conn) receive(dst []Event) ([]Event, error) { return dst, errUnsupported }
func (c *Conn) setWatched([]int, bool) error         { return errUnsupported }
func (c *Conn) close() error                         { return errUnsupported }
func (c *Conn) detach() error                        { return errUnsupported }
func (c *Conn) attach() error                        { return errUnsupported }
