//go:build !linux

package control

import (
	"errors"
	"net"
	"os"
)

var errUnsupported = errors.Join(errors.New("control: the control socket needs Linux"), errors.ErrUnsupported)

func listen(string) (*net.UnixListener, error)      { return nil, errUnsupported }
func fromFile(*os.File) (*net.UnixListener, error)  { return nil, errUnsupported }
func remove(string) error                           { return errUnsupported }
func peerCred(*net.UnixConn) (uint32, int32, error) { return 0, 0, errUnsupported }
