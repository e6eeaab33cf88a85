//go:build !unix

package cacheruntime

import (
	"errors"
	"os"
)

// openRunFile is not available without shared file mappings: the caches
// count in heap memory (see newHeapRun).
func openRunFile(dir string) (*runFile, error) {
	return nil, errors.New("run files need a Unix system")
}

func mapChunk(f *os.File, i int) ([]byte, error) {
	return nil, errors.New("run files need a Unix system")
}
