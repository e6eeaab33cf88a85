//go:build !unix

package cacheruntime

import (
	"os"
	"time"
)

// fileRights has no descriptor passing to do without Unix sockets.
func fileRights(f *os.File) []byte { return nil }

// cleanRuns has nothing to clean: without shared mappings there are no
// run files.
func cleanRuns(root *os.Root, now time.Time) (int, error) { return 0, nil }
