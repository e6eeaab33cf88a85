package main

import (
	"bytes"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/cachelens/cachelens/internal/lsptest"
)

// privateRuntime makes a runtime directory of the test's own (0700, short
// enough for socket paths) and returns it with the environment the test's
// server and programs share: they find each other there and nowhere else.
func privateRuntime(t *testing.T) (rt string, env []string) {
	t.Helper()
	rt, err := os.MkdirTemp("", "rt")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(rt, 0o700)
	t.Cleanup(func() { os.RemoveAll(rt) })
	return rt, append(os.Environ(), "XDG_RUNTIME_DIR="+rt, "XDG_CACHE_HOME="+cacheHome(t), "GOCACHE="+goCache)
}

// startServer starts the real binary with args (as an editor does:
// "serve", "--stdio") over pipes, in env. It returns the process, a
// client on its stdio and its log; the process is killed when the test
// ends, if it has not exited.
func startServer(t *testing.T, env []string, args ...string) (*exec.Cmd, *lsptest.Client, *lockedBuffer) {
	t.Helper()
	srv := exec.Command(binary, args...)
	srv.Env = env
	stdin, _ := srv.StdinPipe()
	stdout, _ := srv.StdoutPipe()
	stderr := new(lockedBuffer)
	srv.Stderr = stderr
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Process.Kill() })
	return srv, lsptest.New(stdout, stdin, stdin.Close), stderr
}

// lockedBuffer is a bytes.Buffer safe for concurrent writers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func (b *lockedBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Len()
}

// batchGap is the store's BatchGap (server/internal/store, out of reach of
// these tests): runs of one program that start further apart than this are
// separate batches, so a test that needs a new batch waits it out.
const batchGap = 2 * time.Second
