//go:build unix

package wire

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"syscall"
	"time"
)

func checkPrivate(name string, fi fs.FileInfo) error {
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("%s has mode %04o; want 0%o (only the owner)", name, perm, perm&0o700)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
		return fmt.Errorf("%s is owned by uid %d, not by the current user (uid %d)", name, st.Uid, os.Getuid())
	}
	return nil
}

// OpenRunFile opens the run file name in root for reading, refusing
// anything but a regular file of the current user's with mode 0600 (no
// symlinks, FIFOs or devices, whose reads could block or never end) of at
// most RunMaxSize bytes. The checks are made on the opened file.
func OpenRunFile(root *os.Root, name string) (*os.File, error) {
	li, err := root.Lstat(name)
	if err != nil {
		return nil, err
	}
	if !li.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file (%s)", name, li.Mode().Type())
	}
	f, err := root.OpenFile(name, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("%s: not a regular file", name)
	}
	if err == nil {
		err = checkPrivate(name, fi)
	}
	if err == nil && fi.Size() > RunMaxSize {
		err = fmt.Errorf("%s: %d bytes, more than a run file holds (%d)", name, fi.Size(), RunMaxSize)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// RunAlive reports whether the process that wrote the run file f (opened
// by the caller itself, never a descriptor received from that process) is
// still running: a writer holds a shared lock on its file for as long as it
// lives, which the kernel releases however it ends.
func RunAlive(f *os.File) bool {
	alive := true
	c, err := f.SyscallConn()
	if err != nil {
		return true
	}
	c.Control(func(fd uintptr) {
		err := syscall.Flock(int(fd), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			syscall.Flock(int(fd), syscall.LOCK_UN)
			alive = false
		}
	})
	return alive
}

// HoldRunLock takes the shared lock that marks the writer of f alive.
func HoldRunLock(f *os.File) error {
	c, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := c.Control(func(fd uintptr) { ferr = syscall.Flock(int(fd), syscall.LOCK_SH) }); err != nil {
		return err
	}
	return ferr
}

// CleanRuns removes the run files in root of processes that have ended,
// when older than RunRetention (measured from the later of the process's
// start and the file's last change), and beyond RunMaxFiles the oldest of
// them. It looks at no more than RunScanLimit entries, so its cost is
// bounded however many files the directory holds. Beyond RunMaxBytes of
// files of ended processes, the oldest go too. keep, if not nil, spares
// files the caller still needs.
func CleanRuns(root *os.Root, now time.Time, keep func(name string) bool) (removed int, err error) {
	d, err := root.Open(".")
	if err != nil {
		return 0, err
	}
	entries, err := d.ReadDir(RunScanLimit)
	d.Close()
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, err
	}
	type dead struct {
		name string
		at   time.Time
		size int64
	}
	var ended []dead
	var deadBytes int64
	total := 0
	for _, e := range entries {
		_, start, ok := ParseRunFileName(e.Name())
		if !ok {
			continue
		}
		total++
		f, err := OpenRunFile(root, e.Name())
		if err != nil {
			continue
		}
		alive := RunAlive(f)
		fi, _ := f.Stat()
		f.Close()
		if alive || (keep != nil && keep(e.Name())) {
			continue
		}
		at := time.Unix(0, start)
		var size int64
		if fi != nil {
			if fi.ModTime().After(at) {
				at = fi.ModTime()
			}
			size = fi.Size()
		}
		ended = append(ended, dead{e.Name(), at, size})
		deadBytes += size
	}
	slices.SortFunc(ended, func(a, b dead) int { return a.at.Compare(b.at) })
	for _, d := range ended {
		if now.Sub(d.at) > RunRetention || total-removed > RunMaxFiles || deadBytes > RunMaxBytes {
			if root.Remove(d.name) == nil {
				removed++
				deadBytes -= d.size
			}
		}
	}
	return removed, nil
}
