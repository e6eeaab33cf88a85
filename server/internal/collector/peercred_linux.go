package collector

import (
	"net"

	"github.com/cachelens/cachelens/wire"
)

// peerUID returns the uid of the process at the other end of c.
func peerUID(c *net.UnixConn) (int, error) { return wire.PeerUID(c) }
