package lsp

import (
	"encoding/json"
	"maps"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cachelens/cachelens/internal/lsptest"
	"github.com/cachelens/cachelens/server/internal/store/storetest"
	"github.com/cachelens/cachelens/wire"
	"go.lsp.dev/jsonrpc2"
)

const mainGo = `package main

import (
	"fmt"

	"github.com/cachelens/cachelens/cacheruntime"
)

type Catalog struct{ Items []int }

type Notifier struct {
	Channel string
	Send    func(string) error
}

var loadCatalog = cacheruntime.Func1(func(region string) *Catalog { return &Catalog{Items: []int{1, 2}} })

var notify = cacheruntime.Func2(func(n Notifier, msg string) int { return len(msg) })

func main() {
	cat := loadCatalog("eu")
	cat.Items[0] = 5
	fmt.Println(notify(Notifier{}, "x"))
	s := "😀😀"; fmt.Println(s, loadCatalog("us"))
}
`

// lineOf returns the 1-based line of the first line containing sub.
func lineOf(text, sub string) int {
	for i, l := range strings.Split(text, "\n") {
		if strings.Contains(l, sub) {
			return i + 1
		}
	}
	return -1
}

type hint struct {
	Position lsptest.Position `json:"position"`
	Label    string           `json:"label"`
}

func (h *harness) open(path, text string) {
	h.t.Helper()
	if err := h.c.Notify("textDocument/didOpen", map[string]any{"textDocument": map[string]any{"uri": "file://" + path, "languageId": "go", "version": 1, "text": text}}); err != nil {
		h.t.Fatal(err)
	}
}

func docID(path string) map[string]string { return map[string]string{"uri": "file://" + path} }

func TestStaticDiagnostics(t *testing.T) {
	dir := writeModule(t, map[string]string{"main.go": mainGo})
	path := filepath.Join(dir, "main.go")
	h := start(t)
	h.initialize(initOpts{roots: []string{dir}, progress: true})
	h.open(path, mainGo)
	diags, err := h.c.WaitDiagnostics("file://"+path, 60*time.Second, func(d []lsptest.Diagnostic) bool { return len(d) >= 2 })
	if err != nil {
		t.Fatal(err)
	}
	codes := map[string]lsptest.Diagnostic{}
	for _, d := range diags {
		codes[d.Code] = d
		if d.Source != "cachelens" {
			t.Errorf("source %q", d.Source)
		}
	}
	mut, ok := codes["mutated"]
	if !ok || mut.Range.Start.Line != lineOf(mainGo, "cat.Items[0] = 5")-1 {
		t.Fatalf("diagnostics %+v", diags)
	}
	if _, ok := codes["unhashable"]; !ok {
		t.Fatalf("no unhashable diagnostic: %+v", diags)
	}
	// The load reported progress.
	kinds := ""
	for _, p := range h.c.Progress() {
		var v struct {
			Value struct{ Kind string } `json:"value"`
		}
		json.Unmarshal(p, &v)
		kinds += v.Value.Kind + " "
	}
	if !strings.HasPrefix(kinds, "begin ") || !strings.HasSuffix(kinds, "end ") {
		t.Errorf("progress: %q", kinds)
	}
	// Quick fixes for the mutation, with the document version.
	var actions []struct {
		Title string `json:"title"`
		Kind  string `json:"kind"`
		Edit  struct {
			DocumentChanges []struct {
				TextDocument struct {
					URI     string `json:"uri"`
					Version *int32 `json:"version"`
				} `json:"textDocument"`
				Edits []struct {
					Range   lsptest.Range `json:"range"`
					NewText string        `json:"newText"`
				} `json:"edits"`
			} `json:"documentChanges"`
		} `json:"edit"`
	}
	if err := h.c.Call("textDocument/codeAction", map[string]any{"textDocument": docID(path), "range": mut.Range, "context": map[string]any{"diagnostics": []any{}}}, &actions); err != nil {
		t.Fatal(err)
	}
	titles := []string{}
	for _, a := range actions {
		titles = append(titles, a.Title)
	}
	if len(actions) < 2 || actions[0].Title != "Work on a copy (cacheruntime.Clone)" || actions[1].Title != "Allow mutation of loadCatalog's result" {
		t.Fatalf("actions %q", titles)
	}
	dc := actions[0].Edit.DocumentChanges
	if len(dc) != 1 || dc[0].TextDocument.Version == nil || *dc[0].TextDocument.Version != 1 {
		t.Fatalf("edit %+v", actions[0].Edit)
	}
	// Apply the Clone fix as an editor would, and see the diagnostic go.
	version := 2
	text := mainGo
	for i := len(dc[0].Edits) - 1; i >= 0; i-- {
		e := dc[0].Edits[i]
		h.c.Notify("textDocument/didChange", map[string]any{"textDocument": map[string]any{"uri": "file://" + path, "version": version},
			"contentChanges": []any{map[string]any{"range": e.Range, "text": e.NewText}}})
		version++
	}
	_ = text
	if _, err := h.c.WaitDiagnostics("file://"+path, 30*time.Second, func(d []lsptest.Diagnostic) bool {
		for _, x := range d {
			if x.Code == "mutated" {
				return false
			}
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	h.shutdown()
}

// feed gives the server's store a run of main.go the way the collector
// would after reading the program's run file.
func feed(h *harness, path string) {
	src := mainGo
	r := storetest.New(4242, time.Now(), "/tmp/catalog")
	load := r.Def(path, lineOf(src, "var loadCatalog"), "main.init.func1", "func(string) *main.Catalog")
	notify := r.Def(path, lineOf(src, "var notify"), "main.init.func2", "func(main.Notifier) error")
	r.Counter(load, wire.CtrComputes, 2).Counter(load, wire.CtrComputeNs, 2e9).Counter(load, wire.CtrEntries, 2).Counter(load, wire.CtrBytes, 1500).Counter(load, wire.CtrMutations, 1)
	r.Counter(notify, wire.CtrHashErrors, 1)
	eu := r.Site(load, path, lineOf(src, `loadCatalog("eu")`), "main.main", 4, 1, 0)
	r.Site(load, path, lineOf(src, `loadCatalog("us")`), "main.main", 0, 1, 0)
	n := r.Site(notify, path, lineOf(src, "notify(Notifier"), "main.main", 0, 0, 1)
	r.Reason(eu, "first", "first call with these arguments", 1)
	r.HashErr(wire.RunHashErr{Def: notify, Site: n, HashErrDesc: wire.HashErrDesc{Arg: 1, ArgType: "main.Notifier", Path: ".Send", Type: "func(string) error", Suggest: "main.Notifier",
		Text: "arg 1 (main.Notifier).Send: func(string) error cannot be hashed"}, Count: 1})
	r.Mutation(load, eu, eu, ".Items[0]", 1)
	r.Source(path, []byte(src), true)
	h.s.store.UpdateRun(r.R, true)
}

func TestRuntimeAnnotations(t *testing.T) {
	dir := writeModule(t, map[string]string{"main.go": mainGo})
	path := filepath.Join(dir, "main.go")
	h := start(t)
	h.initialize(initOpts{roots: []string{dir}, refresh: true})
	h.open(path, mainGo)
	// Each step builds on the ones before it; the first that fails ends
	// the test.
	step := func(name string, f func(t *testing.T)) {
		t.Helper()
		if !t.Run(name, f) {
			t.FailNow()
		}
	}
	want := map[int]string{
		lineOf(mainGo, "var loadCatalog") - 1: "cache · 4 hits · 2 misses (67%) · saved 4.0s · 1 mutation",
		lineOf(mainGo, "var notify") - 1:      "cache · 0 hits · 0 misses (0%) · 1 uncached",
	}
	all := map[string]any{"textDocument": docID(path), "range": map[string]any{"start": map[string]int{"line": 0, "character": 0}, "end": map[string]int{"line": 100, "character": 0}}}
	usLine := lineOf(mainGo, `loadCatalog("us")`)
	usLineText := strings.Split(mainGo, "\n")[usLine-1]
	byteEnd := strings.Index(usLineText, `loadCatalog("us")`) + len(`loadCatalog("us")`)
	utf16End := byteEnd - 2*(4-2) // two emoji: 4 bytes, 2 UTF-16 units each
	wantHints := map[lsptest.Position]string{
		{Line: lineOf(mainGo, `loadCatalog("eu")`) - 1, Character: len("\tcat := loadCatalog(\"eu\")")}:          "4 hits · 1 miss",
		{Line: usLine - 1, Character: utf16End}:                                                                  "0 hits · 1 miss",
		{Line: lineOf(mainGo, "notify(Notifier") - 1, Character: len("\tfmt.Println(notify(Notifier{}, \"x\")")}: "0 hits · 0 misses · 1 uncached",
	}
	euLine := lineOf(mainGo, `loadCatalog("eu")`) - 1

	step("nothing before a run", func(t *testing.T) {
		lenses, err := h.c.CodeLenses("file://" + path)
		if err != nil || len(lenses) != 0 {
			t.Fatalf("before any run: %+v %v", lenses, err)
		}
	})
	feed(h, path)
	step("a run refreshes the client and shows in the status", func(t *testing.T) {
		if err := h.c.WaitRequest("workspace/codeLens/refresh", 1, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		var st Status
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if json.Unmarshal(h.c.Status(), &st) == nil && st.Running == 1 {
				break
			}
		}
		if !st.Listening || st.Running != 1 || st.Processes != 1 || st.Functions != 2 {
			t.Errorf("status %+v", st)
		}
		if last, err := time.Parse(time.RFC3339Nano, st.LastRun); err != nil || time.Since(last) > time.Minute || time.Since(last) < -time.Second {
			t.Errorf("status lastRun %q (%v): want the time the run was last seen", st.LastRun, err)
		}
		if err := h.c.WaitRequest("workspace/inlayHint/refresh", 1, 10*time.Second); err != nil {
			t.Fatal(err)
		}
	})
	step("code lenses: resolved lazily, exact counts", func(t *testing.T) {
		lenses, err := h.c.CodeLenses("file://" + path)
		if err != nil {
			t.Fatal(err)
		}
		var raw []map[string]any
		if err := h.c.Call("textDocument/codeLens", map[string]any{"textDocument": docID(path)}, &raw); err != nil || len(raw) != 2 || raw[0]["command"] != nil || raw[0]["data"] == nil {
			t.Fatalf("unresolved lenses: %v %v", raw, err)
		}
		if err := h.c.Call("codeLens/resolve", map[string]any{"range": raw[0]["range"], "data": map[string]int{"id": 999}}, nil); rpcCode(err) != jsonrpc2.InvalidParams {
			t.Errorf("resolving an unknown lens: %v", err)
		}
		if len(lenses) != 2 {
			t.Fatalf("lenses %+v", lenses)
		}
		for _, l := range lenses {
			if want[l.Range.Start.Line] != l.Command.Title {
				t.Errorf("lens at line %d: %q, want %q", l.Range.Start.Line, l.Command.Title, want[l.Range.Start.Line])
			}
			if l.Command.Command != CommandDetails {
				t.Errorf("lens command %q", l.Command.Command)
			}
		}
	})
	// Inlay hints, in UTF-16 columns (the emoji before the second call
	// counts 2 each).
	step("inlay hints at call sites", func(t *testing.T) {
		var hints []hint
		if err := h.c.Call("textDocument/inlayHint", all, &hints); err != nil {
			t.Fatal(err)
		}
		if len(hints) != len(wantHints) {
			t.Fatalf("hints %+v", hints)
		}
		for _, ht := range hints {
			if wantHints[ht.Position] != ht.Label {
				t.Errorf("hint at %+v: %q (want %+v)", ht.Position, ht.Label, wantHints)
			}
		}
	})
	step("hover on the call site", func(t *testing.T) {
		var hov struct {
			Contents struct{ Kind, Value string } `json:"contents"`
		}
		if err := h.c.Call("textDocument/hover", map[string]any{"textDocument": docID(path), "position": map[string]int{"line": euLine, "character": 10}}, &hov); err != nil {
			t.Fatal(err)
		}
		for _, w := range []string{"4 hits · 1 miss at this call site", "| hits | 4 |", "| misses | 2 |", "| hit rate | 66.7% |", "| memory held | 1.5 KB |", "| avg compute | 1.0s |", "first call with these arguments", "`.Items[0]` changed", "catalog (pid 4242, running)"} {
			if !strings.Contains(hov.Contents.Value, w) {
				t.Errorf("hover lacks %q:\n%s", w, hov.Contents.Value)
			}
		}
	})
	step("runtime diagnostics and their fixes", func(t *testing.T) {
		diags, err := h.c.WaitDiagnostics("file://"+path, 30*time.Second, func(d []lsptest.Diagnostic) bool {
			n := 0
			for _, x := range d {
				if strings.HasPrefix(x.Code, "runtime-") {
					n++
				}
			}
			return n == 2
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range diags {
			switch d.Code {
			case "runtime-hasherr":
				if !strings.Contains(d.Message, "(main.Notifier).Send: func(string) error cannot be hashed; 1 call ran uncached") {
					t.Errorf("hash error diagnostic %q", d.Message)
				}
			case "runtime-mutation":
				if d.Range.Start.Line != euLine || !strings.Contains(d.Message, "(.Items[0])") {
					t.Errorf("mutation diagnostic %+v", d)
				}
			}
		}
		var actions []struct{ Title string }
		notifyLine := lineOf(mainGo, "var notify") - 1
		if err := h.c.Call("textDocument/codeAction", map[string]any{"textDocument": docID(path), "range": map[string]any{"start": map[string]int{"line": notifyLine, "character": 0}, "end": map[string]int{"line": notifyLine, "character": 5}}, "context": map[string]any{"diagnostics": []any{}}}, &actions); err != nil {
			t.Fatal(err)
		}
		found := false
		for _, a := range actions {
			if a.Title == "Ignore Notifier when hashing (seen at run time)" {
				found = true
			}
		}
		if !found {
			t.Errorf("no run-time HashFunc fix: %+v", actions)
		}
	})
	// Lines inserted above: the annotations follow, and say the program
	// ran older code.
	step("annotations follow an edit and say the build is older", func(t *testing.T) {
		h.c.Notify("textDocument/didChange", map[string]any{"textDocument": map[string]any{"uri": "file://" + path, "version": 2},
			"contentChanges": []any{map[string]any{"range": map[string]any{"start": map[string]int{"line": 8, "character": 0}, "end": map[string]int{"line": 8, "character": 0}}, "text": "// one\n// two\n"}}})
		lenses, err := h.c.CodeLenses("file://" + path)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range lenses {
			if !strings.HasSuffix(l.Command.Title, " · older build") {
				t.Errorf("lens %q does not say the build is older", l.Command.Title)
			}
			if _, ok := want[l.Range.Start.Line-2]; !ok {
				t.Errorf("lens at line %d did not move down by 2", l.Range.Start.Line)
			}
		}
		var hints []hint
		if err := h.c.Call("textDocument/inlayHint", all, &hints); err != nil {
			t.Fatal(err)
		}
		for _, ht := range hints {
			p := ht.Position
			p.Line -= 2
			if _, ok := wantHints[p]; !ok {
				t.Errorf("hint at %+v did not move down by 2", ht.Position)
			}
		}
	})
	step("commands: details and reset", func(t *testing.T) {
		var details map[string]string
		if err := h.c.Call("workspace/executeCommand", map[string]any{"command": CommandDetails, "arguments": []any{path, lineOf(mainGo, "var loadCatalog")}}, &details); err != nil || !strings.Contains(details["markdown"], "| hits | 4 |") {
			t.Errorf("details: %v %v", details, err)
		}
		if err := h.c.Call("workspace/executeCommand", map[string]any{"command": CommandReset}, nil); err != nil {
			t.Fatal(err)
		}
		if lenses, err := h.c.CodeLenses("file://" + path); err != nil || len(lenses) != 0 {
			t.Errorf("after reset: %+v %v", lenses, err)
		}
	})
	step("settings: hints off", func(t *testing.T) {
		h.c.Notify("workspace/didChangeConfiguration", map[string]any{"settings": map[string]any{"cachelens": map[string]any{"inlayHints": false}}})
		feed(h, path)
		var hints []hint
		if err := h.c.Call("textDocument/inlayHint", all, &hints); err != nil || len(hints) != 0 {
			t.Errorf("hints off: %+v %v", hints, err)
		}
	})
	h.shutdown()
}

// A client that shows no code lenses (Helix) gets each cached function's
// headline as an inlay hint at the end of its definition line, unless
// lenses are switched off.
func TestHeadlineHintsWithoutCodeLenses(t *testing.T) {
	dir := writeModule(t, map[string]string{"main.go": mainGo})
	path := filepath.Join(dir, "main.go")
	lines := strings.Split(mainGo, "\n")
	all := map[string]any{"textDocument": docID(path), "range": map[string]any{"start": map[string]int{"line": 0, "character": 0}, "end": map[string]int{"line": 100, "character": 0}}}
	for _, lensesOn := range []bool{true, false} {
		h := start(t)
		h.initialize(initOpts{roots: []string{dir}, refresh: true, noCodeLenses: true, options: map[string]any{"codeLenses": lensesOn}})
		h.open(path, mainGo)
		var hints []hint
		// Before any run, no hints; the answer also means the server has
		// handled initialized and watches the store.
		if err := h.c.Call("textDocument/inlayHint", all, &hints); err != nil || len(hints) != 0 {
			t.Fatalf("before any run: %v %v", hints, err)
		}
		feed(h, path)
		if err := h.c.WaitRequest("workspace/inlayHint/refresh", 1, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		if err := h.c.Call("textDocument/inlayHint", all, &hints); err != nil {
			t.Fatal(err)
		}
		heads := map[lsptest.Position]string{}
		for _, ht := range hints {
			if strings.HasPrefix(ht.Label, "cache · ") {
				heads[ht.Position] = ht.Label
			}
		}
		want := map[lsptest.Position]string{}
		if lensesOn {
			l := lineOf(mainGo, "var loadCatalog") - 1
			want[lsptest.Position{Line: l, Character: len(lines[l])}] = "cache · 4 hits · 2 misses (67%) · saved 4.0s · 1 mutation"
			l = lineOf(mainGo, "var notify") - 1
			want[lsptest.Position{Line: l, Character: len(lines[l])}] = "cache · 0 hits · 0 misses (0%) · 1 uncached"
		}
		if !maps.Equal(heads, want) {
			t.Errorf("codeLenses %v: headline hints %v, want %v", lensesOn, heads, want)
		}
		if len(hints)-len(heads) != 3 {
			t.Errorf("call-site hints: %+v", hints)
		}
		h.shutdown()
	}
}
