//go:build unix

package cacheruntime

import (
	"os"
	"syscall"
	"time"

	"github.com/cachelens/cachelens/wire"
)

// fileRights returns the ancillary data that passes f's descriptor.
func fileRights(f *os.File) []byte {
	if f == nil {
		return nil
	}
	sc, err := f.SyscallConn()
	if err != nil {
		return nil
	}
	var oob []byte
	sc.Control(func(fd uintptr) { oob = syscall.UnixRights(int(fd)) })
	return oob
}

// cleanRuns removes the run files in root of processes that ended long ago.
func cleanRuns(root *os.Root, now time.Time) (int, error) { return wire.CleanRuns(root, now, nil) }
