package annotate

import (
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cachelens/cachelens/server/internal/store"
	"github.com/cachelens/cachelens/server/internal/store/storetest"
	"github.com/cachelens/cachelens/wire"
)

const v1 = `package main

import "github.com/cachelens/cachelens/cacheruntime"

var load = cacheruntime.Func1(func(s string) int { return len(s) })

func main() {
	load("a")
	load("b")
}
`

type buffers map[string][]byte

func (b buffers) Buffer(path string) ([]byte, bool, bool) {
	t, ok := b[path]
	return t, ok, ok
}

func line(text, sub string) int {
	for i, l := range strings.Split(text, "\n") {
		if strings.Contains(l, sub) {
			return i + 1
		}
	}
	return -1
}

// report feeds one run of a program built from src into s.
func report(s *store.Store, path, src string, hits int64) {
	r := storetest.New(7, time.Unix(7, 0), "/tmp/main")
	d := r.Def(path, line(src, "var load"), "main.init.func1", "func(string) int")
	r.Counter(d, wire.CtrComputes, 1).Counter(d, wire.CtrComputeNs, 1e9)
	r.Site(d, path, line(src, `load("b")`), "main.main", hits, 1, 0)
	r.Source(path, []byte(src), true)
	s.UpdateRun(r.R, true)
}

// TestPlacementFollowsEdits: annotations stay on their code when lines
// move, are marked as describing other code exactly when the text differs
// from what the program was built from, and lose the mark again when the
// text is back to it (type-and-undo).
func TestPlacementFollowsEdits(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "main.go")
	os.WriteFile(path, []byte(v1), 0o644)
	bufs := buffers{}
	a := New(bufs)
	a.Files.Saw(path) // the editor opened the file: version 1 is remembered
	s := store.New()
	report(s, path, v1, 3)

	pl := a.Place(s.Snapshot(), path)
	if len(pl.Defs) != 1 || pl.Defs[0].Stale || pl.Defs[0].At.Decl.StartLine != line(v1, "var load") {
		t.Fatalf("defs %+v", pl.Defs)
	}
	if len(pl.Sites) != 1 || pl.Sites[0].At.Span.StartLine != line(v1, `load("b")`) {
		t.Fatalf("sites %+v", pl.Sites)
	}
	if got := LensTitle(pl.Defs[0].Def, false); got != "cache · 3 hits · 1 miss (75%) · saved 3.0s" {
		t.Errorf("title %q", got)
	}
	// The file is edited and saved after the program was built: lines
	// above and inside main.
	v2 := strings.Replace(v1, "import", "// doc\n\nimport", 1)
	v2 = strings.Replace(v2, "func main() {\n", "func main() {\n\tload(\"z\")\n", 1)
	os.WriteFile(path, []byte(v2), 0o644)
	bufs[path] = []byte(v2)
	pl = a.Place(s.Snapshot(), path)
	if len(pl.Defs) != 1 || !pl.Defs[0].Stale || pl.Defs[0].At.Decl.StartLine != line(v2, "var load") {
		t.Fatalf("after the edit, defs %+v", pl.Defs)
	}
	// The reported site is the second call in main when it was built; now
	// it is the third.
	if len(pl.Sites) != 1 || pl.Sites[0].At.Span.StartLine != line(v2, `load("b")`) || !pl.Sites[0].Stale {
		t.Fatalf("after the edit, sites %+v", pl.Sites)
	}
	hints := pl.Hints(0, len(v2))
	if len(hints) != 1 || hints[0].Label != "3 hits · 1 miss · older build" {
		t.Errorf("hints %+v", hints)
	}
	// Undo: the buffer is back to what the program was built from, with a
	// newer modification time on disk: not stale.
	bufs[path] = []byte(v1)
	os.WriteFile(path, []byte(v1), 0o644)
	os.Chtimes(path, time.Now().Add(time.Hour), time.Now().Add(time.Hour))
	if pl := a.Place(s.Snapshot(), path); len(pl.Defs) != 1 || pl.Defs[0].Stale || len(pl.Sites) != 1 || pl.Sites[0].Stale {
		t.Fatalf("after undo: defs %+v sites %+v", pl.Defs, pl.Sites)
	}
	bufs[path] = []byte(v2)
	// The definition removed: nothing is placed.
	v3 := strings.Replace(v2, "var load = cacheruntime.Func1(func(s string) int { return len(s) })\n", "", 1)
	bufs[path] = []byte(v3)
	if pl := a.Place(s.Snapshot(), path); len(pl.Defs) != 0 {
		t.Errorf("a deleted definition is still placed: %+v", pl.Defs)
	}
}

func TestNoHitsAndFormats(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "main.go")
	os.WriteFile(path, []byte(v1), 0o644)
	s := store.New()
	r := storetest.New(8, time.Unix(8, 0), "/tmp/main")
	d := r.Def(path, line(v1, "var load"), "main.init.func1", "func(string) int")
	st := r.Site(d, path, line(v1, `load("a")`), "main.main", 0, 9, 0)
	r.Reason(st, "args", "arg 1 changed since the previous call here", 8)
	s.UpdateRun(r.R, true)
	pl := New(nil).Place(s.Snapshot(), path)
	diags := pl.RuntimeDiagnostics()
	if len(diags) != 1 || diags[0].Code != "runtime-nohits" || !strings.Contains(diags[0].Message, "missed all 9 calls") || !strings.Contains(diags[0].Message, "last miss: arg 1 changed") {
		t.Fatalf("diagnostics %+v", diags)
	}
	for d, want := range map[time.Duration]string{3100 * time.Millisecond: "3.1s", 20 * time.Millisecond: "20.0ms", 1500 * time.Nanosecond: "1.5µs", 90 * time.Second: "1m30s"} {
		if got := formatDuration(d); got != want {
			t.Errorf("Duration(%v) = %q, want %q", d, got, want)
		}
	}
	for n, want := range map[int64]string{912: "912 B", 1536: "1.5 KB", 3 << 20: "3.0 MB"} {
		if got := formatBytes(n); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestTiersShown: disk hits in the lens and hover, the store's counters
// and location in the hover, store errors as diagnostics at the cache.
func TestTiersShown(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "main.go")
	os.WriteFile(path, []byte(v1), 0o644)
	s := store.New()
	r := storetest.New(8, time.Unix(8, 0), "/tmp/main")
	d := r.Def(path, line(v1, "var load"), "main.init.func1", "func(string) int")
	r.Site(d, path, line(v1, `load("a")`), "main.main", 12, 3, 0)
	var c [wire.TierNCounter]int64
	c[wire.TierHits], c[wire.TierMisses], c[wire.TierWrites], c[wire.TierWriteBytes], c[wire.TierCodeChanged] = 3, 3, 3, 1536, 2
	r.Tier(d, "disk", "/home/ann/.cache/cachelens/k1-f1/ab/cd", c)
	r.StoreErr(d, "disk", "corrupt entry /x: checksum 1, want 2", 1)
	s.UpdateRun(r.R, true)
	pl := New(nil).Place(s.Snapshot(), path)
	if len(pl.Defs) != 1 {
		t.Fatalf("defs %+v", pl.Defs)
	}
	if got := LensTitle(pl.Defs[0].Def, false); !strings.HasPrefix(got, "cache · 12 hits (3 disk) · 3 misses (80%)") {
		t.Errorf("lens %q", got)
	}
	md, _, _, ok := pl.Hover(s.Snapshot(), pl.Defs[0].At.Call.Start)
	for _, want := range []string{"| hits | 12 (9 memory · 3 disk) |", "| disk | 3 hits · 3 misses · 3 writes (1.5 KB) · 2 after a code change |",
		"| disk entries | `/home/ann/.cache/cachelens/k1-f1/ab/cd` |", "| code fingerprint | the source of main.go |", "- disk: `corrupt entry /x: checksum 1, want 2` (×1)"} {
		if !ok || !strings.Contains(md, want) {
			t.Errorf("hover lacks %q:\n%s", want, md)
		}
	}
	diags := pl.RuntimeDiagnostics()
	if len(diags) != 1 || diags[0].Code != "runtime-storeerr" || !strings.Contains(diags[0].Message, "disk: corrupt entry /x") {
		t.Errorf("diagnostics %+v", diags)
	}
}

func TestSourceType(t *testing.T) {
	src := "package main\n\nimport (\n\tdb \"database/sql\"\n\t\"net/http\"\n)\n"
	f, err := parser.ParseFile(token.NewFileSet(), "m.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		"main.Notifier": "Notifier",
		"*main.Conn":    "*Conn",
		"*sql.DB":       "*db.DB",
		"*db.DB":        "*db.DB",
		"http.Client":   "http.Client",
		"func(int)":     "func(int)",
		"other.Type":    "",
	} {
		got, ok := sourceType(in, f)
		if want == "" {
			if ok {
				t.Errorf("sourceType(%q) = %q, want no answer", in, got)
			}
			continue
		}
		if !ok || got != want {
			t.Errorf("sourceType(%q) = %q %v, want %q", in, got, ok, want)
		}
	}
}

// TestHoverBounded: a hover over a function that 300 runs reported, each
// with its own hash errors and mutations, lists a few of each and says how
// many more there are, so that its size does not grow with history.
func TestHoverBounded(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "main.go")
	os.WriteFile(path, []byte(v1), 0o644)
	s := store.New()
	const runs = 300
	for i := range runs {
		r := storetest.New(1000+i, time.Unix(1000, int64(i)), "/tmp/loadgen")
		d := r.Def(path, line(v1, "var load"), "main.init.func1", "func(string) int")
		st := r.Site(d, path, line(v1, `load("a")`), "main.main", 1, 1, 0)
		r.Reason(st, "args", fmt.Sprintf("arg 1 is %d", i), 1)
		r.HashErr(wire.RunHashErr{Def: d, Site: st, HashErrDesc: wire.HashErrDesc{Text: fmt.Sprintf("error %d", i)}, Count: 1})
		r.Mutation(d, st, st, fmt.Sprintf(".F%d", i), 1)
		s.UpdateRun(r.R, i >= runs-3) // the last three are still running
	}
	pl := New(nil).Place(s.Snapshot(), path)
	off := strings.Index(v1, "var load") + 4
	md, _, _, ok := pl.Hover(s.Snapshot(), off)
	if !ok {
		t.Fatal("no hover")
	}
	if len(md) > 4000 {
		t.Errorf("hover is %d bytes:\n%s", len(md), md)
	}
	shown := store.MaxRuns // the runs the store keeps, all in one batch
	for _, want := range []string{
		fmt.Sprintf("and %d more runs (3 of %d running)", shown-maxListed, shown),
		fmt.Sprintf("and %d more hash errors", store.MaxDistinct+1-maxListed),
		fmt.Sprintf("and %d more mutations", store.MaxDistinct+1-maxListed),
	} {
		if !strings.Contains(md, want) {
			t.Errorf("hover lacks %q:\n%s", want, md)
		}
	}
	site := strings.Index(v1, `load("a")`) + 1
	md, _, _, _ = pl.Hover(s.Snapshot(), site)
	if want := fmt.Sprintf("and %d more reasons", store.MaxDistinct+1-maxListed); !strings.Contains(md, want) {
		t.Errorf("site hover lacks %q:\n%s", want, md)
	}
}

// TestLensTitleNeverRoundsUp: a cache with misses never reads 100%, one
// with hits never 0%.
func TestLensTitleNeverRoundsUp(t *testing.T) {
	for _, c := range []struct {
		hits, misses int64
		want         string
	}{
		{995, 5, "cache · 995 hits · 5 misses (>99%)"},
		{1000, 0, "cache · 1000 hits · 0 misses (100%)"},
		{1, 999, "cache · 1 hit · 999 misses (<1%)"},
	} {
		d := &store.Def{Calls: store.Calls{Hits: c.hits, Misses: c.misses}}
		if got := LensTitle(d, false); got != c.want {
			t.Errorf("LensTitle(%d hits, %d misses) = %q, want %q", c.hits, c.misses, got, c.want)
		}
	}
}

// TestLiteralNamedByHolder: a cache the runtime knows as
// "main.init.func1" (a function literal) is called by the variable that
// holds it, in hovers and run-time diagnostics alike, as the static
// checks call it.
func TestLiteralNamedByHolder(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "main.go")
	os.WriteFile(path, []byte(v1), 0o644)
	a := New(buffers{})
	s := store.New()
	report(s, path, v1, 0)
	r := storetest.New(8, time.Unix(8, 0), "/tmp/main")
	d := r.Def(path, line(v1, "var load"), "main.init.func1", "func(string) int")
	r.Site(d, path, line(v1, `load("a")`), "main.main", 0, 9, 0)
	r.Source(path, []byte(v1), true)
	s.UpdateRun(r.R, true)
	snap := s.Snapshot()
	pl := a.Place(snap, path)
	for _, at := range []string{"load = ", `load("b")`} {
		md, _, _, ok := pl.Hover(snap, strings.Index(v1, at)+1)
		if !ok || strings.Contains(md, "func1") || !strings.Contains(md, "`load`") {
			t.Errorf("hover at %s names the cache otherwise than load:\n%s", at, md)
		}
	}
	found := false
	for _, dg := range pl.RuntimeDiagnostics() {
		found = found || strings.HasPrefix(dg.Message, "load missed all")
		if strings.Contains(dg.Message, "func1") {
			t.Errorf("diagnostic with the literal's name: %s", dg.Message)
		}
	}
	if !found {
		t.Errorf("no never-hit diagnostic naming load: %+v", pl.RuntimeDiagnostics())
	}
	for name, want := range map[string]bool{"main.init.func1": true, "example.com/m.main.func2.1": true, "main.loadUser": false, "main.func": false, "main.(*T).funcs": false} {
		if got := isLiteralName(name); got != want {
			t.Errorf("isLiteralName(%q) = %v", name, got)
		}
	}
}
