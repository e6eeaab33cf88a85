package lsp

import (
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cachelens/cachelens/internal/lsptest"
)

// TestEditsDoNotAccumulate: many edits leave the live heap about where a
// few left it.
func TestEditsDoNotAccumulate(t *testing.T) {
	if testing.Short() {
		t.Skip("hundreds of edits")
	}
	dir := writeModule(t, map[string]string{"main.go": mainGo})
	path := filepath.Join(dir, "main.go")
	h := start(t)
	h.initialize(initOpts{roots: []string{dir}})
	h.open(path, mainGo)
	if _, err := h.c.WaitDiagnostics("file://"+path, 60*time.Second, func(d []lsptest.Diagnostic) bool { return len(d) >= 2 }); err != nil {
		t.Fatal(err)
	}
	line := lineOf(mainGo, `loadCatalog("us")`) - 1
	version := 1
	edit := func(n int) {
		for i := 0; i < n; i++ {
			version++
			var change map[string]any
			if i%2 == 0 {
				change = map[string]any{"range": map[string]any{"start": map[string]int{"line": line, "character": 0}, "end": map[string]int{"line": line, "character": 0}}, "text": "\tcat.Items[1] = 9\n"}
			} else {
				change = map[string]any{"range": map[string]any{"start": map[string]int{"line": line, "character": 0}, "end": map[string]int{"line": line + 1, "character": 0}}, "text": ""}
			}
			h.c.Notify("textDocument/didChange", map[string]any{"textDocument": map[string]any{"uri": "file://" + path, "version": version}, "contentChanges": []any{change}})
			want := i%2 == 0
			h.c.WaitDiagnostics("file://"+path, 30*time.Second, func(d []lsptest.Diagnostic) bool {
				has := false
				for _, x := range d {
					if x.Range.Start.Line == line && strings.Contains(x.Message, "cat.Items[1]") {
						has = true
					}
				}
				return has == want
			})
		}
	}
	edit(20)
	before := liveHeap()
	edit(400)
	after := liveHeap()
	t.Logf("live heap: %.1f MB after 20 edits, %.1f MB after 420", float64(before)/1e6, float64(after)/1e6)
	if after > before+before/2+4<<20 {
		t.Errorf("the live heap grew from %.1f MB to %.1f MB over 400 edits", float64(before)/1e6, float64(after)/1e6)
	}
}

// TestLargeBufferEdits: edits to a 2 MB buffer with run-time annotations,
// each followed by code lens, inlay hint and hover requests, do not keep
// the buffer's old versions alive, and closing the buffer releases what
// was kept for it.
func TestLargeBufferEdits(t *testing.T) {
	if testing.Short() {
		t.Skip("large buffers")
	}
	var big strings.Builder
	big.WriteString(mainGo)
	for big.Len() < 2<<20 {
		big.WriteString("// filler line to make a large buffer: the quick brown fox jumps over the lazy dog\n")
	}
	src := big.String()
	dir := writeModule(t, map[string]string{"main.go": src})
	path := filepath.Join(dir, "main.go")
	uri := "file://" + path
	h := start(t)
	h.initialize(initOpts{roots: []string{dir}})
	h.open(path, src)
	feed(h, path)
	all := map[string]any{"textDocument": map[string]string{"uri": uri}, "range": map[string]any{"start": map[string]int{"line": 0, "character": 0}, "end": map[string]int{"line": 100000, "character": 0}}}
	version := 1
	edits := func(n int) {
		for i := 0; i < n; i++ {
			version++
			h.c.Notify("textDocument/didChange", map[string]any{"textDocument": map[string]any{"uri": uri, "version": version},
				"contentChanges": []any{map[string]any{"range": map[string]any{"start": map[string]int{"line": 0, "character": 0}, "end": map[string]int{"line": 0, "character": 0}}, "text": "// x\n"}}})
			if _, err := h.c.CodeLenses(uri); err != nil {
				t.Fatal(err)
			}
			var hints []any
			if err := h.c.Call("textDocument/inlayHint", all, &hints); err != nil {
				t.Fatal(err)
			}
			var hov any
			h.c.Call("textDocument/hover", map[string]any{"textDocument": map[string]string{"uri": uri}, "position": map[string]int{"line": i + 20, "character": 5}}, &hov)
		}
	}
	edits(3)
	before := liveHeap()
	edits(20)
	mid := liveHeap()
	edits(60)
	after := liveHeap()
	t.Logf("live heap: %.1f MB after 3 edits of a 2 MB buffer, %.1f MB after 23, %.1f MB after 83", float64(before)/1e6, float64(mid)/1e6, float64(after)/1e6)
	// A few versions of the buffer are kept (the current text, the one the
	// program was built from, one before; and the versions the workspace's
	// analysis has in flight): a bound, not a growth. Keeping every
	// version would be 2 MB per edit, 166 MB here.
	if mid > before+32<<20 || after > before+32<<20 {
		t.Errorf("the live heap grew with the edits: %.1f, %.1f, %.1f MB", float64(before)/1e6, float64(mid)/1e6, float64(after)/1e6)
	}
	h.c.Notify("textDocument/didClose", map[string]any{"textDocument": map[string]string{"uri": uri}})
	var hints []any
	h.c.Call("textDocument/inlayHint", all, &hints) // a request after the close is handled
	time.Sleep(100 * time.Millisecond)              // the workspace reads the file from disk again
	closed := liveHeap()
	t.Logf("live heap after didClose: %.1f MB", float64(closed)/1e6)
	// The workspace parses the file from disk again after the close, so
	// the heap need not shrink; it must not keep the buffer's versions.
	if closed > after+8<<20 {
		t.Errorf("closing the buffer left the live heap at %.1f MB (%.1f MB open)", float64(closed)/1e6, float64(after)/1e6)
	}
}

// TestSpecialFiles: a hover on an unopened /dev/zero or FIFO is answered
// with an error at once, and the server keeps answering.
func TestSpecialFiles(t *testing.T) {
	dir := writeModule(t, map[string]string{"main.go": mainGo})
	fifo := filepath.Join(dir, "pipe.go")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	h := start(t)
	h.initialize(initOpts{roots: []string{dir}})
	for _, p := range []string{"/dev/zero", fifo, filepath.Join(dir, "missing.go")} {
		done := make(chan error, 1)
		go func() {
			var hov any
			done <- h.c.Call("textDocument/hover", map[string]any{"textDocument": map[string]string{"uri": "file://" + p}, "position": map[string]int{"line": 0, "character": 0}}, &hov)
		}()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), "unknown document") {
				t.Errorf("hover on %s: %v", p, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("hover on %s did not return", p)
		}
	}
	if _, err := h.c.CodeLenses("file://" + filepath.Join(dir, "main.go")); err != nil {
		t.Errorf("a later request: %v", err)
	}
}

// liveHeap is the heap in use after two collections: what is still
// reachable.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
