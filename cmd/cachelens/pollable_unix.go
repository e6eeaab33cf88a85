//go:build unix

package main

import (
	"os"
	"syscall"
)

// pollable returns a duplicate of the server's end of an editor's pipe or
// socket (v, stdin or stdout) that is read and written through Go's
// network poller, and false for anything else (a terminal, a regular
// file, a value that is not a file), which is then used as it is.
//
// Why: stdin and stdout are blocking descriptors, so each read or write
// holds an OS thread in a system call, and one that lasts more than a few
// microseconds (a 20 KB reply for a file with 200 cached functions) has
// its scheduler slot taken away; getting one back can mean waking or
// creating a thread, which took 2-3 ms on the 2-core VMs the benchmarks
// run on — the whole of the codeLens p99 beside gopls's. Through the
// poller a goroutine waits without a thread and a write to a pipe with
// room never blocks. O_NONBLOCK is set on a duplicate of the descriptor;
// it belongs to the open pipe, whose other end (the editor's) is a
// different open file, so the editor does not see it.
func pollable(v any) (*os.File, bool) {
	file, ok := v.(*os.File)
	if !ok {
		return nil, false
	}
	return nonblockingDup(file)
}

// nonblockingDup duplicates a pipe's or socket's descriptor in
// non-blocking mode, as an *os.File the poller serves.
func nonblockingDup(f *os.File) (*os.File, bool) {
	fi, err := f.Stat()
	if err != nil || fi.Mode()&(os.ModeNamedPipe|os.ModeSocket) == 0 {
		return nil, false
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, false
	}
	fd := -1
	if err := rc.Control(func(raw uintptr) { fd, err = syscall.Dup(int(raw)) }); err != nil || fd < 0 {
		return nil, false
	}
	syscall.CloseOnExec(fd)
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return nil, false
	}
	// os.NewFile sees the descriptor is non-blocking and registers it
	// with the poller.
	return os.NewFile(uintptr(fd), f.Name()), true
}
