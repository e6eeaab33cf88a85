package cacheruntime

import (
	"errors"
	"fmt"
	"net"
	"os"

	"github.com/cachelens/cachelens/wire"
)

// checkPeer makes sure the server at the other end of c runs as this
// user before anything is sent to it: a socket another user created in a
// shared place (or named by CACHELENS_SOCKET) must not receive the
// program's paths and function names. Where the peer's uid cannot be read,
// the checks on the directory (0700, owned by the user) stand alone.
func checkPeer(c *net.UnixConn) error {
	uid, err := wire.PeerUID(c)
	if errors.Is(err, wire.ErrNoPeerCred) {
		return nil
	}
	if err != nil {
		return err
	}
	if uid != os.Getuid() {
		return fmt.Errorf("the server runs as uid %d, not as this user (uid %d)", uid, os.Getuid())
	}
	return nil
}
