package cacheruntime_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachelens/cachelens/cacheruntime"
)

// Profile is a result with the shapes gob must carry: nested structs,
// pointers, maps, slices, times.
type Profile struct {
	Name    string
	Tags    []string
	Scores  map[string]float64
	Manager *Profile
	Since   time.Time
}

func loadProfile(id int) Profile {
	return Profile{
		Name:    "p" + string(rune('a'+id)),
		Tags:    []string{"x", "y"},
		Scores:  map[string]float64{"q": float64(id) / 3},
		Manager: &Profile{Name: "boss"},
		Since:   time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC),
	}
}

// persisted wraps loadProfile as one run of a program would: a new cache
// over the same directory, counting computations.
func persisted(dir string, n *atomic.Int64, h *cacheruntime.Handle, opts ...cacheruntime.Option) func(int) Profile {
	opts = append([]cacheruntime.Option{cacheruntime.PersistDir(dir), cacheruntime.NoReport(), cacheruntime.WithHandle(h)}, opts...)
	return cacheruntime.Func1(func(id int) Profile {
		n.Add(1)
		return loadProfile(id)
	}, opts...)
}

func TestPersistAcrossRuns(t *testing.T) {
	dir := t.TempDir()
	var n atomic.Int64
	var h1, h2 cacheruntime.Handle
	run1 := persisted(dir, &n, &h1)
	want := loadProfile(3)
	if got := run1(3); !jsonEqual(got, want) {
		t.Fatalf("computed %+v", got)
	}
	run1(3)
	if n.Load() != 1 {
		t.Fatalf("run 1 computed %d times", n.Load())
	}
	s1 := h1.Stats()
	if len(s1.Tiers) != 1 || s1.Tiers[0].Writes != 1 || s1.Tiers[0].Misses != 1 || s1.Tiers[0].Hits != 0 {
		t.Fatalf("run 1 tiers %+v", s1.Tiers)
	}

	// A second run (a new cache over the same directory) reads the disk.
	run2 := persisted(dir, &n, &h2)
	got := run2(3)
	if n.Load() != 1 {
		t.Fatalf("run 2 computed again")
	}
	if !jsonEqual(got, want) || got.Manager == nil || got.Manager.Name != "boss" || !got.Since.Equal(want.Since) {
		t.Fatalf("from disk %+v, want %+v", got, want)
	}
	// A hit from disk is a hit, answered by the disk tier; the next one
	// is from memory.
	run2(3)
	s2 := h2.Stats()
	if s2.Hits != 2 || s2.Misses != 0 || s2.Tiers[0].Hits != 1 || s2.Entries != 1 {
		t.Fatalf("run 2: %d hits, %d misses, %d entries, tiers %+v", s2.Hits, s2.Misses, s2.Entries, s2.Tiers)
	}
	if !strings.HasPrefix(s2.Tiers[0].Location, dir) || !strings.Contains(s2.Tiers[0].Basis, "persist_test.go") {
		t.Errorf("tier location %q basis %q", s2.Tiers[0].Location, s2.Tiers[0].Basis)
	}
	// A disk hit is still checked for mutation like any hit.
	r := run2(3)
	r.Tags[0] = "changed"
	run2(3)
	if s := h2.Stats(); s.Mutations != 1 {
		t.Errorf("mutations after changing a result read from disk: %d", s.Mutations)
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// Errors are never persisted; results of functions that fail are not
// either.
func TestPersistErrorResults(t *testing.T) {
	dir := t.TempDir()
	var n atomic.Int64
	mk := func() func(int) (string, error) {
		return cacheruntime.Func1E(func(id int) (string, error) {
			n.Add(1)
			if id < 0 {
				return "", errors.New("negative")
			}
			return strings.Repeat("v", id), nil
		}, cacheruntime.PersistDir(dir), cacheruntime.NoReport())
	}
	f := mk()
	if _, err := f(-1); err == nil {
		t.Fatal("no error")
	}
	if v, err := f(2); v != "vv" || err != nil {
		t.Fatal(v, err)
	}
	g := mk()
	if _, err := g(-1); err == nil {
		t.Fatal("the error was not recomputed")
	}
	if v, err := g(2); v != "vv" || err != nil {
		t.Fatal(v, err)
	}
	if n.Load() != 3 {
		t.Errorf("computed %d times, want 3 (the error twice, the value once)", n.Load())
	}
}

type secretive struct {
	Public string
	hidden int
}

type link struct {
	Name string
	Next any
}

// Results gob cannot carry faithfully stay in memory, and say why.
func TestPersistRefusesWhatGobWouldBreak(t *testing.T) {
	for _, tc := range []struct {
		name string
		fn   func(dir string, h *cacheruntime.Handle) func()
		why  string
	}{
		{"unexported field", func(dir string, h *cacheruntime.Handle) func() {
			f := cacheruntime.Func1(func(i int) secretive { return secretive{"a", i} }, cacheruntime.PersistDir(dir), cacheruntime.NoReport(), cacheruntime.WithHandle(h))
			return func() {
				if v := f(7); v.hidden != 7 {
					t.Errorf("lost the unexported field: %+v", v)
				}
			}
		}, "unexported field hidden, which gob would drop"},
		{"func", func(dir string, h *cacheruntime.Handle) func() {
			f := cacheruntime.Func1(func(i int) func() int { return func() int { return i } }, cacheruntime.PersistDir(dir), cacheruntime.NoReport(), cacheruntime.WithHandle(h))
			return func() { f(1) }
		}, "cannot be encoded by gob"},
		{"cycle", func(dir string, h *cacheruntime.Handle) func() {
			f := cacheruntime.Func1(func(i int) *link {
				n := &link{Name: "a"}
				n.Next = n
				return n
			}, cacheruntime.PersistDir(dir), cacheruntime.NoReport(), cacheruntime.WithHandle(h), cacheruntime.AllowOutputMutation())
			return func() { f(1) }
		}, "cycle"},
		{"unregistered interface value", func(dir string, h *cacheruntime.Handle) func() {
			type local struct{ X int }
			f := cacheruntime.Func1(func(i int) link { return link{Name: "a", Next: local{i}} }, cacheruntime.PersistDir(dir), cacheruntime.NoReport(), cacheruntime.WithHandle(h))
			return func() { f(1) }
		}, "not persisted: gob: type not registered"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var h cacheruntime.Handle
			call := tc.fn(dir, &h)
			call()
			call()
			s := h.Stats()
			if s.Hits != 1 || s.Misses != 1 {
				t.Errorf("%d hits, %d misses: the cache in memory must work", s.Hits, s.Misses)
			}
			if len(s.StoreErrorLog) != 1 || !strings.Contains(s.StoreErrorLog[0].Message, tc.why) || s.StoreErrorLog[0].Tier != "disk" {
				t.Fatalf("store errors %+v, want one saying %q", s.StoreErrorLog, tc.why)
			}
			if s.Tiers[0].Writes != 0 || s.Tiers[0].Errors != 1 {
				t.Errorf("tier %+v", s.Tiers[0])
			}
		})
	}
}

// A corrupted entry is reported, recomputed and written again.
func TestPersistCorruptEntry(t *testing.T) {
	dir := t.TempDir()
	var n atomic.Int64
	var h1, h2, h3 cacheruntime.Handle
	persisted(dir, &n, &h1)(1)
	var files []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && len(d.Name()) == 32 {
			files = append(files, p)
		}
		return nil
	})
	if len(files) != 1 {
		t.Fatalf("entry files %v", files)
	}
	b, _ := os.ReadFile(files[0])
	b[len(b)-2] ^= 0xff
	os.WriteFile(files[0], b, 0o600)
	if got := persisted(dir, &n, &h2)(1); !jsonEqual(got, loadProfile(1)) || n.Load() != 2 {
		t.Fatalf("after corruption: %+v, computed %d times", got, n.Load())
	}
	s := h2.Stats()
	if len(s.StoreErrorLog) != 1 || !strings.Contains(s.StoreErrorLog[0].Message, "checksum") || s.Tiers[0].Writes != 1 {
		t.Fatalf("store errors %+v, tiers %+v", s.StoreErrorLog, s.Tiers)
	}
	persisted(dir, &n, &h3)(1)
	if n.Load() != 2 {
		t.Error("the rewritten entry was not read")
	}
}

func TestPersistTTLAcrossRuns(t *testing.T) {
	dir := t.TempDir()
	var n atomic.Int64
	var h cacheruntime.Handle
	persisted(dir, &n, &h, cacheruntime.TTL(300*time.Millisecond))(1)
	persisted(dir, &n, &h, cacheruntime.TTL(300*time.Millisecond))(1)
	if n.Load() != 1 {
		t.Fatalf("computed %d times before the TTL", n.Load())
	}
	time.Sleep(350 * time.Millisecond)
	f := persisted(dir, &n, &h, cacheruntime.TTL(300*time.Millisecond))
	f(1)
	if n.Load() != 2 {
		t.Fatalf("computed %d times after the TTL", n.Load())
	}
	s := h.Stats()
	if len(s.Sites) != 1 || len(s.Sites[0].Reasons) == 0 || s.Sites[0].Reasons[0].Reason.Kind != cacheruntime.MissExpired {
		t.Errorf("reasons %+v, want expired", s.Sites)
	}
}

func TestPersistForgetAndClear(t *testing.T) {
	dir := t.TempDir()
	var n atomic.Int64
	var h cacheruntime.Handle
	f := persisted(dir, &n, &h)
	f(1)
	f(2)
	if ok, err := h.Forget(1); !ok || err != nil {
		t.Fatal(ok, err)
	}
	var h2 cacheruntime.Handle
	g := persisted(dir, &n, &h2)
	g(1)
	g(2)
	if n.Load() != 3 {
		t.Fatalf("computed %d times, want 3 (1 again after Forget, not 2)", n.Load())
	}
	h2.Clear()
	var h3 cacheruntime.Handle
	k := persisted(dir, &n, &h3)
	k(1)
	k(2)
	if n.Load() != 5 {
		t.Fatalf("computed %d times, want 5 (both again after Clear)", n.Load())
	}
}

type jsonCodec struct{}

func (jsonCodec) Marshal(v any) ([]byte, error)   { return json.Marshal(v) }
func (jsonCodec) Unmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

func TestPersistCodec(t *testing.T) {
	dir := t.TempDir()
	var n atomic.Int64
	mk := func() func(int) secretive {
		return cacheruntime.Func1(func(i int) secretive { n.Add(1); return secretive{Public: "p", hidden: i} },
			cacheruntime.WithCodec(jsonCodec{}), cacheruntime.PersistDir(dir), cacheruntime.NoReport())
	}
	mk()(4)
	got := mk()(4)
	// The codec decides: JSON carries the exported field only.
	if n.Load() != 1 || got.Public != "p" || got.hidden != 0 {
		t.Fatalf("computed %d times; got %+v", n.Load(), got)
	}
	var files []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && len(d.Name()) == 32 {
			files = append(files, p)
		}
		return nil
	})
	b, _ := os.ReadFile(files[0])
	if !strings.HasSuffix(string(b), `{"Public":"p"}`) {
		t.Errorf("the entry does not hold the codec's bytes: %q", b)
	}
}

// Several results (through Func) go to the codec as one struct.
func TestPersistSeveralResults(t *testing.T) {
	dir := t.TempDir()
	var n atomic.Int64
	mk := func() func(string) (int, []string, error) {
		return cacheruntime.Func(func(s string) (int, []string, error) {
			n.Add(1)
			return len(s), strings.Split(s, ","), nil
		}, cacheruntime.PersistDir(dir), cacheruntime.NoReport())
	}
	mk()("a,b")
	l, parts, err := mk()("a,b")
	if n.Load() != 1 || l != 3 || strings.Join(parts, "|") != "a|b" || err != nil {
		t.Fatalf("computed %d times; got %d %v %v", n.Load(), l, parts, err)
	}
}

// Persist without a directory uses $CACHELENS_CACHE_DIR, under the
// rules' version.
func TestPersistDefaultDir(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("CACHELENS_CACHE_DIR", dir)
	var h cacheruntime.Handle
	f := cacheruntime.Func1(func(i int) int { return i + 1 }, cacheruntime.Persist(), cacheruntime.NoReport(), cacheruntime.WithHandle(&h))
	f(1)
	want := filepath.Join(dir, fmt.Sprintf("k%d-f1", cacheruntime.KeyVersion))
	if loc := h.Stats().Tiers[0].Location; !strings.HasPrefix(loc, want) {
		t.Errorf("entries in %s, want under %s", loc, want)
	}
}

// A result over a quarter of the directory's bound is not persisted.
func TestPersistMaxBytes(t *testing.T) {
	t.Setenv("CACHELENS_CACHE_DIR", t.TempDir())
	var h cacheruntime.Handle
	f := cacheruntime.Func1(func(n int) []byte { return make([]byte, n) }, cacheruntime.PersistMaxBytes(4000), cacheruntime.NoReport(), cacheruntime.WithHandle(&h))
	f(10)
	f(2000)
	s := h.Stats()
	if s.Tiers[0].Writes != 1 || len(s.StoreErrorLog) != 1 || !strings.Contains(s.StoreErrorLog[0].Message, "over a quarter of the directory's bound (1000 bytes") {
		t.Errorf("tiers %+v, errors %+v", s.Tiers, s.StoreErrorLog)
	}
}
