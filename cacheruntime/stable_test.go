package cacheruntime_test

import (
	"bytes"
	"flag"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/cachelens/cachelens/cacheruntime"
)

var updateKeys = flag.Bool("update-keys", false, "rewrite testdata/keys.golden")

type stableInner struct {
	name  string
	score float64
}

type stableRecord struct {
	ID     int64
	Tags   []string
	Attrs  map[string]int
	inner  *stableInner
	Any    any
	Matrix [2][3]int32
}

type stableNode struct {
	V    int
	Next *stableNode
}

type stableUser struct {
	ID      int
	Session string
}

// stableValues are values of every shape a key holds; their keys must be
// the same in every process and build (persisted and shared results are
// looked up by them).
func stableValues() []struct {
	name string
	key  func() (cacheruntime.Key, error)
} {
	long := strings.Repeat("cachelens ", 1000)
	big := make([]byte, 100_000)
	for i := range big {
		big[i] = byte(i * 7)
	}
	ring := &stableNode{V: 1}
	ring.Next = &stableNode{V: 2, Next: ring}
	rec := stableRecord{ID: 7, Tags: []string{"a", "bb"}, Attrs: map[string]int{"x": 1, "y": 2, "z": 3},
		inner: &stableInner{name: "in", score: 0.5}, Any: uint16(9), Matrix: [2][3]int32{{1, 2, 3}, {4, 5, 6}}}
	k := func(v any) func() (cacheruntime.Key, error) {
		return func() (cacheruntime.Key, error) { return cacheruntime.Hash(v) }
	}
	return []struct {
		name string
		key  func() (cacheruntime.Key, error)
	}{
		{"int", func() (cacheruntime.Key, error) { return cacheruntime.Hash(42) }},
		{"string", func() (cacheruntime.Key, error) { return cacheruntime.Hash("hello") }},
		{"long string", func() (cacheruntime.Key, error) { return cacheruntime.Hash(long) }},
		{"100 kB of bytes", func() (cacheruntime.Key, error) { return cacheruntime.Hash(big) }},
		{"floats -0 NaN", func() (cacheruntime.Key, error) {
			return cacheruntime.Hash([]float64{math.Copysign(0, -1), math.NaN(), 1.5, math.Inf(1)})
		}},
		{"struct", func() (cacheruntime.Key, error) { return cacheruntime.Hash(rec) }},
		{"pointer to struct", func() (cacheruntime.Key, error) { return cacheruntime.Hash(&rec) }},
		{"map", func() (cacheruntime.Key, error) {
			return cacheruntime.Hash(map[string][]int{"a": {1}, "b": {2, 3}, "c": nil})
		}},
		{"interface", k(any(rec))},
		{"cycle", func() (cacheruntime.Key, error) { return cacheruntime.Hash(ring) }},
		{"HashFunc", func() (cacheruntime.Key, error) {
			return cacheruntime.Hash(stableUser{ID: 1, Session: "s"}, cacheruntime.HashFunc(func(u stableUser) any { return u.ID }))
		}},
		{"nil slice", func() (cacheruntime.Key, error) { return cacheruntime.Hash([]int(nil)) }},
		{"empty slice", func() (cacheruntime.Key, error) { return cacheruntime.Hash([]int{}) }},
	}
}

// TestKeysStable: keys are the same in every process and build. The golden
// file was written by another process (and build) of this test. A change
// to the hashing rules shows here: if it is meant, KeyVersion must change
// too (stored keys of the old version then count as unknown) — then
// rewrite the file with go test -run TestKeysStable -update-keys.
func TestKeysStable(t *testing.T) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "KeyVersion %d\n", cacheruntime.KeyVersion)
	for _, v := range stableValues() {
		key, err := v.key()
		if err != nil {
			t.Fatalf("%s: %v", v.name, err)
		}
		fmt.Fprintf(&b, "%-18s %016x %016x\n", v.name, key[0], key[1])
	}
	const golden = "testdata/keys.golden"
	if *updateKeys {
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != string(want) {
		hint := "if the change is meant, rewrite it (-update-keys)"
		if gotV, _, _ := strings.Cut(got, "\n"); gotV == strings.SplitN(string(want), "\n", 2)[0] {
			hint = "keys changed but KeyVersion did not: if the change is meant, increment KeyVersion and rewrite the file (-update-keys)"
		}
		t.Errorf("keys differ from %s (written by another process); %s\n got:\n%s\nwant:\n%s", golden, hint, got, want)
	}
}

// TestFloatSlicesByValue: a []float64 key is hashed as one run of memory
// when it is already canonical and through a canonical copy when it holds
// -0 or an unusual NaN; both ways give the key of the same value.
func TestFloatSlicesByValue(t *testing.T) {
	canonical := []float64{0, 1.5, math.Float64frombits(0x7ff8000000000001), math.Inf(-1)}
	for _, n := range []int{1, 8, 9, 100} { // one word, a short and a long run
		a := make([]float64, n)
		b := make([]float64, n)
		for i := range n {
			a[i] = canonical[i%len(canonical)]
			switch b[i] = a[i]; {
			case a[i] == 0:
				b[i] = math.Copysign(0, -1)
			case a[i] != a[i]:
				b[i] = math.Float64frombits(0xfff0000000000123) // another NaN
			}
		}
		ka, _ := cacheruntime.Hash(a)
		kb, _ := cacheruntime.Hash(b)
		if ka != kb {
			t.Errorf("%d elements: %v and %v hash differently", n, a, b)
		}
		a[n-1] = 2.25
		if kc, _ := cacheruntime.Hash(a); kc == ka {
			t.Errorf("%d elements: a changed last element hashes the same", n)
		}
	}
}
