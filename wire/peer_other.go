//go:build !linux

package wire

import (
	"errors"
	"net"
)

// ErrNoPeerCred is returned where the standard library cannot read a
// socket peer's credentials.
var ErrNoPeerCred = errors.New("wire: reading a socket peer's uid is not supported here")

// PeerUID returns the uid of the process at the other end of c. Outside
// Linux the standard library cannot read it; see ErrNoPeerCred.
func PeerUID(c *net.UnixConn) (int, error) { return -1, ErrNoPeerCred }
