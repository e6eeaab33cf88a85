package annotate

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cachelens/cachelens/server/store"
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

// report feeds one run of the program built at built into s.
func report(s *store.Store, path string, built time.Time, hits int64) {
	sess := s.Hello(&wire.Hello{Proto: wire.Version, PID: 7, Start: time.Unix(7, 0), Built: built, Program: "/tmp/main"})
	sess.Apply(&wire.Def{ID: 1, File: path, Line: line(v1, "var load"), Name: "main.init.func1"})
	sess.Apply(&wire.Site{ID: 2, Def: 1, File: path, Line: line(v1, `load("b")`)})
	sess.Apply(&wire.Stats{Sites: []wire.SiteCounts{{Site: 2, Hits: hits, Misses: 1}}, Defs: []wire.DefCounts{{Def: 1, Computes: 1, ComputeNs: 1e9}}})
}

func TestPlacementFollowsEdits(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "main.go")
	os.WriteFile(path, []byte(v1), 0o644)
	old := time.Now().Add(-time.Hour)
	os.Chtimes(path, old, old)
	bufs := buffers{}
	a := New(bufs)
	a.Files.Saw(path) // the editor opened the file: version 1 is remembered
	s := store.New()
	report(s, path, old.Add(time.Minute), 3)

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
	sess := s.Hello(&wire.Hello{Proto: wire.Version, PID: 8, Start: time.Unix(8, 0)})
	sess.Apply(&wire.Def{ID: 1, File: path, Line: line(v1, "var load"), Name: "main.init.func1"})
	sess.Apply(&wire.Site{ID: 2, Def: 1, File: path, Line: line(v1, `load("a")`)})
	sess.Apply(&wire.Stats{Sites: []wire.SiteCounts{{Site: 2, Misses: 9}}})
	sess.Apply(&wire.Miss{Site: 2, Kind: "args", Arg: 1, Text: "arg 1 changed since the previous call here", Count: 8})
	pl := New(nil).Place(s.Snapshot(), path)
	diags := pl.RuntimeDiagnostics()
	if len(diags) != 1 || diags[0].Code != "runtime-nohits" || !strings.Contains(diags[0].Message, "missed all 9 calls") || !strings.Contains(diags[0].Message, "last miss: arg 1 changed") {
		t.Fatalf("diagnostics %+v", diags)
	}
	for d, want := range map[time.Duration]string{3100 * time.Millisecond: "3.1s", 20 * time.Millisecond: "20.0ms", 1500 * time.Nanosecond: "1.5µs", 90 * time.Second: "1m30s"} {
		if got := Duration(d); got != want {
			t.Errorf("Duration(%v) = %q, want %q", d, got, want)
		}
	}
	for n, want := range map[int64]string{912: "912 B", 1536: "1.5 KB", 3 << 20: "3.0 MB"} {
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", n, got, want)
		}
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
