package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSignalsCleanUp: a server ended by SIGTERM or SIGINT (as editors and
// terminals end it) removes its registration and socket, as it does on
// exit, and says why it stopped.
func TestSignalsCleanUp(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/m\n\ngo 1.26\n"), 0o644)
			rt, env := privateRuntime(t)
			srv, c, stderr := startServer(t, env, "serve", "--stdio")
			if err := c.Call("initialize", map[string]any{
				"processId":        os.Getpid(),
				"workspaceFolders": []any{map[string]string{"uri": "file://" + dir, "name": "m"}},
				"capabilities":     map[string]any{},
			}, nil); err != nil {
				t.Fatalf("initialize: %v\n%s", err, stderr.String())
			}
			c.Notify("initialized", map[string]any{})
			files := func() []string {
				var out []string
				filepath.Walk(filepath.Join(rt, "cachelens"), func(p string, info os.FileInfo, err error) error {
					if err == nil && !info.IsDir() {
						out = append(out, strings.TrimPrefix(p, rt))
					}
					return nil
				})
				return out
			}
			deadline := time.Now().Add(10 * time.Second)
			for len(files()) < 2 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			before := files()
			if len(before) < 2 {
				t.Fatalf("no registration and socket in the runtime directory: %v\n%s", before, stderr.String())
			}
			srv.Process.Signal(sig)
			done := make(chan error, 1)
			go func() { done <- srv.Wait() }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatalf("the server did not end within 10 s of %v", sig)
			}
			if left := files(); len(left) != 0 {
				t.Errorf("after %v the runtime directory still holds %v (had %v)", sig, left, before)
			}
		})
	}
}
