//go:build !linux

package hw

import (
	"errors"
	"fmt"
	"time"
)

var errUnsupported = fmt.Errorf("hw: watchdog devices: %w", errors.ErrUnsupported)

func open(string) (*Device, error)                                { return nil, errUnsupported }
func adopt(int) (*Device, error)                                  { return nil, errUnsupported }
func (d *Device) info() (Info, error)                             { return Info{}, errUnsupported }
func (d *Device) setTimeout(time.Duration) (time.Duration, error) { return 0, errUnsupported }
func (d *Device) timeout() (time.Duration, error)                 { return 0, errUnsupported }
func (d *Device) bootStatus() (uint32, error)                     { return 0, errUnsupported }
func (d *Device) keepalive() error                                { return errUnsupported }
func (d *Device) disarm() error                                   { return errUnsupported }
func (d *Device) fire() error                                     { return errUnsupported }
