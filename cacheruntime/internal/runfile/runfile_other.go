//go:build !unix

package runfile

import (
	"errors"
	"os"
)

// Open is not available without shared file mappings: the caches
// count in heap memory (see InHeap).
func Open(dir string) (*File, error) {
	return nil, errors.New("run files need a Unix system")
}

func mapChunk(f *os.File, i int) ([]byte, error) {
	return nil, errors.New("run files need a Unix system")
}
