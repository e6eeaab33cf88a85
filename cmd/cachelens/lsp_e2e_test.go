package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cachelens/cachelens/internal/lsptest"
	"github.com/cachelens/cachelens/internal/testmodule"
)

// catalogModule copies the example program into a temporary module.
func catalogModule(t *testing.T) (dir string, src string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testmodule.Root(t), "example", "catalog", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	return testmodule.New(t, "example.com/catalog", map[string]string{"main.go": string(data)}), string(data)
}

type wsEdit struct {
	DocumentChanges []struct {
		TextDocument struct {
			URI     string `json:"uri"`
			Version *int32 `json:"version"`
		} `json:"textDocument"`
		Edits []lsptest.TextEdit `json:"edits"`
	} `json:"documentChanges"`
}

// applyEdit applies a workspace edit's text edits to text, as an editor
// does (edits in one document all refer to the text before any of them).
func applyEdit(t *testing.T, text string, e wsEdit) string {
	t.Helper()
	for _, dc := range e.DocumentChanges {
		var err error
		if text, err = lsptest.ApplyEdits(text, dc.Edits); err != nil {
			t.Fatalf("applying %+v: %v", dc.Edits, err)
		}
	}
	return text
}

func TestLanguageServerEndToEnd(t *testing.T) {
	dir, src := catalogModule(t)
	mainPath := filepath.Join(dir, "main.go")
	uri := "file://" + mainPath
	rt, env := privateRuntime(t)

	// The real binary, over pipes, as vscode-languageclient starts it.
	srv, c, stderr := startServer(t, env, "serve", "--stdio")
	var init map[string]any
	err := c.Call("initialize", map[string]any{
		"processId":        os.Getpid(),
		"workspaceFolders": []any{map[string]string{"uri": "file://" + dir, "name": "catalog"}},
		"capabilities": map[string]any{
			"workspace":    map[string]any{"codeLens": map[string]bool{"refreshSupport": true}, "inlayHint": map[string]bool{"refreshSupport": true}, "workspaceEdit": map[string]bool{"documentChanges": true}},
			"textDocument": map[string]any{"inlayHint": map[string]any{}, "codeLens": map[string]any{}, "publishDiagnostics": map[string]bool{"relatedInformation": true}},
			"window":       map[string]bool{"workDoneProgress": true},
		},
	}, &init)
	if err != nil {
		t.Fatalf("initialize: %v\n%s", err, stderr.String())
	}
	c.Notify("initialized", map[string]any{})
	c.Notify("textDocument/didOpen", map[string]any{"textDocument": map[string]any{"uri": uri, "languageId": "go", "version": 1, "text": src}})

	// Steps, each building on the one before; what they share.
	var diags []lsptest.Diagnostic
	var wantHints map[int]string // by 0-based line, from the program's output
	var wantLenses []string
	type hint struct {
		Position lsptest.Position `json:"position"`
		Label    string           `json:"label"`
	}
	var lenses []lsptest.Lens // as first shown
	var hints []hint
	all := map[string]any{"textDocument": map[string]string{"uri": uri}, "range": map[string]any{"start": map[string]int{"line": 0, "character": 0}, "end": map[string]int{"line": 1000, "character": 0}}}
	before := map[int]bool{} // the lenses' lines before the edit
	if !t.Run("static diagnostics", func(t *testing.T) {
		// 1. Static diagnostics.
		var err error
		diags, err = c.WaitDiagnostics(uri, 90*time.Second, func(d []lsptest.Diagnostic) bool {
			codes := map[string]bool{}
			for _, x := range d {
				codes[x.Code] = true
			}
			return codes["unhashable"] && codes["mutated"]
		})
		if err != nil {
			t.Fatalf("%v\n%s", err, stderr.String())
		}
	}) {
		return
	}
	if !t.Run("every quick fix builds", func(t *testing.T) {
		// 2. Every quick fix, applied to a copy and built.
		fixes := 0
		for _, d := range diags {
			var actions []struct {
				Title string `json:"title"`
				Edit  wsEdit `json:"edit"`
			}
			if err := c.Call("textDocument/codeAction", map[string]any{"textDocument": map[string]string{"uri": uri}, "range": d.Range, "context": map[string]any{"diagnostics": []any{d}}}, &actions); err != nil {
				t.Fatal(err)
			}
			for _, a := range actions {
				fixed := applyEdit(t, src, a.Edit)
				bdir := testmodule.New(t, "example.com/catalog", map[string]string{"main.go": fixed})
				build := exec.Command("go", "build", "-o", os.DevNull, ".")
				build.Dir = bdir
				if out, err := build.CombinedOutput(); err != nil {
					t.Errorf("fix %q for %q does not build: %v\n%s", a.Title, d.Message, err, out)
				}
				fixes++
			}
		}
		if fixes < 4 {
			t.Errorf("only %d fixes offered", fixes)
		}
	}) {
		return
	}
	if !t.Run("the program reports", func(t *testing.T) {
		// 3. Run the program; it finds the server through the runtime
		// directory and reports.
		run := exec.Command("go", "run", ".")
		run.Dir = dir
		run.Env = env
		out, err := run.CombinedOutput()
		if err != nil {
			t.Fatalf("go run: %v\n%s", err, out)
		}
		siteRE := regexp.MustCompile(`(?m)^\s+line (\d+)\s+(\d+) hits\s+(\d+) misses`)
		cacheRE := regexp.MustCompile(`(?m)^(\S+)\s+(\d+) hits\s+(\d+) misses\s+(\d+) uncached\s+\((\d+)% hit rate`)
		wantHints = map[int]string{}
		for _, m := range siteRE.FindAllStringSubmatch(string(out), -1) {
			line, _ := strconv.Atoi(m[1])
			h, _ := strconv.Atoi(m[2])
			mi, _ := strconv.Atoi(m[3])
			wantHints[line-1] = fmt.Sprintf("%d %s · %d %s", h, plural(h, "hit", "hits"), mi, plural(mi, "miss", "misses"))
		}
		for _, m := range cacheRE.FindAllStringSubmatch(string(out), -1) {
			h, _ := strconv.Atoi(m[2])
			mi, _ := strconv.Atoi(m[3])
			wantLenses = append(wantLenses, fmt.Sprintf("cache · %d %s · %d %s (%s%%)", h, plural(h, "hit", "hits"), mi, plural(mi, "miss", "misses"), m[5]))
		}
		if len(wantHints) < 6 || len(wantLenses) != 3 {
			t.Fatalf("program output:\n%s", out)
		}
	}) {
		return
	}
	if !t.Run("exact counts in lenses, hints and hover", func(t *testing.T) {
		// 4. Exact counts in code lenses and inlay hints.
		deadline := time.Now().Add(30 * time.Second)
		for {
			var err error
			if lenses, err = c.CodeLenses(uri); err != nil {
				t.Fatal(err)
			}
			matched := 0
			for _, w := range wantLenses {
				for _, l := range lenses {
					if strings.HasPrefix(l.Command.Title, w) {
						matched++
					}
				}
			}
			if matched == len(wantLenses) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("lenses %+v, want titles starting %q\n%s", lenses, wantLenses, stderr.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err := c.Call("textDocument/inlayHint", all, &hints); err != nil {
			t.Fatal(err)
		}
		got := map[int]string{}
		for _, h := range hints {
			got[h.Position.Line] = h.Label
		}
		for line, w := range wantHints {
			if !strings.HasPrefix(got[line], w) {
				t.Errorf("hint on line %d: %q, want %q", line+1, got[line], w)
			}
		}
		if c.Requests("workspace/codeLens/refresh") == 0 {
			t.Error("the server never asked for a code lens refresh")
		}
		// Hover at the first loadCatalog call in main.
		var hov struct {
			Contents struct{ Value string } `json:"contents"`
		}
		callLine := -1
		for i, l := range strings.Split(src, "\n") {
			if strings.Contains(l, `loadCatalog("eu")`) && strings.HasPrefix(l, "\t\t") {
				callLine = i
				break
			}
		}
		if err := c.Call("textDocument/hover", map[string]any{"textDocument": map[string]string{"uri": uri}, "position": map[string]int{"line": callLine, "character": 5}}, &hov); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(hov.Contents.Value, wantHints[callLine]+" at this call site") || !strings.Contains(hov.Contents.Value, "| hit rate |") {
			t.Errorf("hover:\n%s", hov.Contents.Value)
		}
		// Run-time diagnostics: the hash error and the mutation.
		if _, err := c.WaitDiagnostics(uri, 30*time.Second, func(d []lsptest.Diagnostic) bool {
			codes := map[string]bool{}
			for _, x := range d {
				codes[x.Code] = true
			}
			return codes["runtime-hasherr"] && codes["runtime-mutation"]
		}); err != nil {
			t.Error(err)
		}
	}) {
		return
	}
	if !t.Run("annotations follow edits", func(t *testing.T) {
		// 5. Lines inserted above: annotations move with the code.
		c.Notify("textDocument/didChange", map[string]any{"textDocument": map[string]any{"uri": uri, "version": 2},
			"contentChanges": []any{map[string]any{"range": map[string]any{"start": map[string]int{"line": 5, "character": 0}, "end": map[string]int{"line": 5, "character": 0}}, "text": "// inserted\n// lines\n// above\n"}}})
		for _, l := range lenses {
			before[l.Range.Start.Line] = true
		}
		moved, err := c.CodeLenses(uri)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range moved {
			if !before[l.Range.Start.Line-3] || !strings.HasSuffix(l.Command.Title, "older build") {
				t.Errorf("lens after the edit: line %d %q", l.Range.Start.Line, l.Command.Title)
			}
		}
		if err := c.Call("textDocument/inlayHint", all, &hints); err != nil {
			t.Fatal(err)
		}
		for _, h := range hints {
			if _, ok := wantHints[h.Position.Line-3]; !ok {
				t.Errorf("hint after the edit at line %d did not move", h.Position.Line+1)
			}
		}
	}) {
		return
	}
	if !t.Run("undo clears the older-build mark", func(t *testing.T) {
		// 5b. Undo: the buffer is what the program was built from again (its
		// file on disk newer than the executable): no "older build" mark.
		c.Notify("textDocument/didChange", map[string]any{"textDocument": map[string]any{"uri": uri, "version": 3},
			"contentChanges": []any{map[string]any{"text": src}}})
		os.Chtimes(mainPath, time.Now().Add(time.Minute), time.Now().Add(time.Minute))
		undone, err := c.CodeLenses(uri)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range undone {
			if strings.Contains(l.Command.Title, "older build") || !before[l.Range.Start.Line] {
				t.Errorf("lens after undo: line %d %q", l.Range.Start.Line, l.Command.Title)
			}
		}
	}) {
		return
	}
	if !t.Run("the mutation fix and a new run", func(t *testing.T) {
		// 5c. The run-time mutation's fix, applied and saved; its quick fix is
		// then no longer offered; after a new run the warning is gone.
		var mutDiag lsptest.Diagnostic
		mutLine := strings.Count(src[:strings.Index(src, "applyDiscount(loadCatalog")], "\n")
		if _, err := c.WaitDiagnostics(uri, 30*time.Second, func(d []lsptest.Diagnostic) bool {
			for _, x := range d {
				if x.Code == "runtime-mutation" && x.Range.Start.Line == mutLine {
					mutDiag = x
					return true
				}
			}
			return false
		}); err != nil {
			t.Fatalf("the mutation warning on the undone text: %v", err)
		}
		cloneFix := func(text string) (wsEdit, bool) {
			var actions []struct {
				Title string `json:"title"`
				Edit  wsEdit `json:"edit"`
			}
			if err := c.Call("textDocument/codeAction", map[string]any{"textDocument": map[string]string{"uri": uri}, "range": mutDiag.Range, "context": map[string]any{"diagnostics": []any{mutDiag}}}, &actions); err != nil {
				t.Fatal(err)
			}
			for _, a := range actions {
				if strings.Contains(a.Title, "Work on a copy") && strings.Contains(a.Title, "run time") {
					return a.Edit, true
				}
			}
			return wsEdit{}, false
		}
		edit, ok := cloneFix(src)
		if !ok {
			t.Fatalf("no run-time Clone fix for %+v", mutDiag)
		}
		fixed := applyEdit(t, src, edit)
		if err := os.WriteFile(mainPath, []byte(fixed), 0o644); err != nil {
			t.Fatal(err)
		}
		c.Notify("textDocument/didChange", map[string]any{"textDocument": map[string]any{"uri": uri, "version": 4},
			"contentChanges": []any{map[string]any{"text": fixed}}})
		c.Notify("textDocument/didSave", map[string]any{"textDocument": map[string]any{"uri": uri}})
		if _, again := cloneFix(fixed); again {
			t.Error("the Clone fix is still offered where it is applied")
		}
		time.Sleep(batchGap)
		rerun := exec.Command("go", "run", ".")
		rerun.Dir = dir
		rerun.Env = env
		if out, err := rerun.CombinedOutput(); err != nil {
			t.Fatalf("go run after the fix: %v\n%s", err, out)
		}
		if _, err := c.WaitDiagnostics(uri, 30*time.Second, func(d []lsptest.Diagnostic) bool {
			codes := map[string]bool{}
			for _, x := range d {
				codes[x.Code] = true
			}
			return codes["runtime-hasherr"] && !codes["runtime-mutation"]
		}); err != nil {
			t.Errorf("after the fixed run: %v", err)
		}
	}) {
		return
	}
	if !t.Run("clean shutdown", func(t *testing.T) {
		// 6. Clean shutdown.
		if err := c.Call("shutdown", nil, nil); err != nil {
			t.Fatal(err)
		}
		c.Notify("exit", nil)
		done := make(chan error, 1)
		go func() { done <- srv.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("the server exited with %v\n%s", err, stderr.String())
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the server did not exit")
		}
		// Its socket and registration are gone (the programs' run files stay,
		// for a server started later).
		left, _ := filepath.Glob(filepath.Join(rt, "cachelens", "*"))
		left = slices.DeleteFunc(left, func(p string) bool { return filepath.Base(p) == "runs" })
		if len(left) != 0 {
			t.Errorf("left behind: %v", left)
		}
	}) {
		return
	}

}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
