// Package srcfile reads files for the language server: source files the
// editor names, files programs report, go.mod and go.work. It reads only
// regular files, at most MaxSize bytes, and never blocks on what is not a
// regular file (a FIFO, a device such as /dev/zero, a socket): the
// server's paths come from clients and programs, and one read must not
// hang a request worker or fill the memory.
package srcfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// maxSize is the largest file read.
const maxSize = 16 << 20

// Errors Read returns (wrapped with the path).
var (
	ErrNotRegular = errors.New("not a regular file")
	ErrTooLarge   = fmt.Errorf("larger than %d MiB", maxSize>>20)
)

// Read returns the contents of the regular file at path.
func Read(path string) ([]byte, error) {
	data, _, err := readInfo(path)
	return data, err
}

// readInfo returns the contents of the regular file at path and its
// information, taken from the opened file.
func readInfo(path string) ([]byte, fs.FileInfo, error) {
	// O_NONBLOCK: opening a FIFO with no writer returns at once instead of
	// waiting for one; for a regular file it changes nothing.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("%s: %w (%s)", path, ErrNotRegular, fi.Mode().Type())
	}
	if fi.Size() > maxSize {
		return nil, nil, fmt.Errorf("%s: %w", path, ErrTooLarge)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxSize+1))
	if err != nil {
		return nil, nil, err
	}
	if len(data) > maxSize {
		return nil, nil, fmt.Errorf("%s: %w", path, ErrTooLarge)
	}
	return data, fi, nil
}
