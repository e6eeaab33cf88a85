package lsp

import (
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/cachelens/cachelens/server/lsp/lsptest"
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
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	edit(20)
	before := heap()
	edit(400)
	after := heap()
	t.Logf("live heap: %.1f MB after 20 edits, %.1f MB after 420", float64(before)/1e6, float64(after)/1e6)
	if after > before+before/2+4<<20 {
		t.Errorf("the live heap grew from %.1f MB to %.1f MB over 400 edits", float64(before)/1e6, float64(after)/1e6)
	}
}
