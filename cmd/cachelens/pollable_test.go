//go:build unix

package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// The server's end of a pipe gets a duplicate served by the poller
// (non-blocking: a read with nothing to read parks the goroutine, and a
// deadline works, which needs the poller); data flows both ways; other
// kinds of input are left as they are.
func TestPollable(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	// As a parent process leaves them: blocking.
	for _, f := range []*os.File{r, w} {
		rc, _ := f.SyscallConn()
		rc.Control(func(fd uintptr) { syscall.SetNonblock(int(fd), false) })
	}
	pr, ok := pollable(r)
	if !ok {
		t.Fatal("a pipe was not made pollable")
	}
	defer pr.Close()
	pw, ok := pollable(w)
	if !ok {
		t.Fatal("a pipe's write end was not made pollable")
	}
	defer pw.Close()
	if err := pr.SetReadDeadline(time.Now().Add(20 * time.Millisecond)); err != nil {
		t.Fatalf("no deadline, so not served by the poller: %v", err)
	}
	if _, err := pr.Read(make([]byte, 1)); !os.IsTimeout(err) {
		t.Fatalf("a read with nothing to read: %v, want a timeout", err)
	}
	pr.SetReadDeadline(time.Time{})
	msg := bytes.Repeat([]byte("lens "), 20000) // more than a pipe holds
	go func() {
		pw.Write(msg)
		pw.Close()
		w.Close()
	}()
	got, err := io.ReadAll(pr)
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("read %d bytes (%v), want %d", len(got), err, len(msg))
	}

	f, err := os.Create(filepath.Join(t.TempDir(), "file"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, ok := pollable(f); ok {
		t.Error("a regular file was made pollable")
	}
	if _, ok := pollable(&bytes.Buffer{}); ok {
		t.Error("a buffer was made pollable")
	}
}
