//go:build unix

package runfile

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/cachelens/cachelens/wire"
)

// Open creates this process's run file in dir (or, if someone else
// took dir, in a private fallback beside it: wire.OpenDir) and maps its
// first chunk. The directory is opened once and checked through the opened
// descriptor; the file is created exclusively (never
// one that exists, so never one another user planted), with mode 0600, and
// locked shared for the life of the process, which marks it alive.
func Open(dir string) (*File, error) {
	d, err := wire.OpenDir(dir, true, true)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	root := d.Root()
	start := time.Now()
	name := wire.RunFileName(os.Getpid(), start.UnixNano())
	f, err := root.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("creating the run file: %w", err)
	}
	fail := func(err error) (*File, error) {
		f.Close()
		root.Remove(name)
		return nil, err
	}
	if err := f.Chmod(0o600); err != nil {
		return fail(err)
	}
	if err := wire.HoldRunLock(f); err != nil {
		return fail(fmt.Errorf("locking the run file: %w", err))
	}
	c, err := mapChunk(f, 0)
	if err != nil {
		return fail(err)
	}
	r := &File{chunks: [][]byte{c}, off: wire.RunHeaderSize, file: f, path: filepath.Join(d.Path, name), mapped: true, start: start, note: d.Note}
	rand.Read(r.id[:])
	r.writeHeader()
	return r, nil
}

// mapChunk extends f to hold chunk i and maps it shared, read-write.
func mapChunk(f *os.File, i int) ([]byte, error) {
	if err := f.Truncate(int64(i+1) * wire.RunChunkSize); err != nil {
		return nil, fmt.Errorf("growing the run file: %w", err)
	}
	c, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	var b []byte
	var merr error
	if err := c.Control(func(fd uintptr) {
		b, merr = syscall.Mmap(int(fd), int64(i)*wire.RunChunkSize, wire.RunChunkSize, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	}); err != nil {
		return nil, err
	}
	if merr != nil {
		return nil, fmt.Errorf("mapping the run file: %w", merr)
	}
	return b, nil
}
