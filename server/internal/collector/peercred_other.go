//go:build !linux && !darwin && !freebsd

package collector

import (
	"fmt"
	"net"
	"runtime"
)

// peerUID is not available here: the collector refuses every peer rather
// than accept one it cannot check.
func peerUID(c *net.UnixConn) (int, error) {
	return -1, fmt.Errorf("checking the peer's uid is not supported on %s", runtime.GOOS)
}
