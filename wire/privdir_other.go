//go:build !unix

package wire

import (
	"errors"
	"net"
	"os"
	"time"
)

var errNoDirs = errors.New("wire: private directories need a Unix system")

// Dir is a private directory; without Unix there are none.
type Dir struct {
	Path     string
	Fallback bool
	Note     string
}

// OpenDir fails without Unix.
func OpenDir(dir string, create, fallback bool) (*Dir, error) { return nil, errNoDirs }

// Dirs returns nothing without Unix.
func Dirs(dir string) []*Dir { return nil }

// Root returns nil.
func (d *Dir) Root() *os.Root { return nil }

// Close does nothing.
func (d *Dir) Close() error { return nil }

// Registrations fails without Unix.
func (d *Dir) Registrations() ([]Registration, []string, error) { return nil, nil, errNoDirs }

// Dial dials socket.
func (d *Dir) Dial(socket string, timeout time.Duration) (net.Conn, error) {
	return net.DialTimeout("unix", socket, timeout)
}
