package cacheruntime_test

import (
	"math"
	"reflect"
	"testing"

	"github.com/cachelens/cachelens/cacheruntime"
)

// fuzzValue is built from fuzz input; build is deterministic, so building
// twice gives equal values in fresh memory.
type fuzzValue struct {
	N     int64
	F     float64
	S     string
	Bytes []byte
	Tags  []string
	M     map[string]int
	P     *fuzzValue
	Any   any
	hid   uint8
}

func build(data []byte, depth int) *fuzzValue {
	v := &fuzzValue{M: map[string]int{}}
	if len(data) == 0 {
		return v
	}
	v.N = int64(data[0])
	v.hid = data[len(data)-1]
	v.F = float64(int8(data[0])) / 3
	v.S = string(data[:len(data)/2])
	v.Bytes = append([]byte(nil), data...)
	for i, b := range data {
		if i%3 == 0 {
			v.Tags = append(v.Tags, string(rune('a'+b%26)))
		}
		v.M[string(rune('a'+b%26))+string(rune('a'+i%26))] += int(b)
	}
	if depth < 3 && len(data) > 2 {
		v.P = build(data[1:], depth+1)
		if data[1]%2 == 0 {
			v.Any = build(data[2:], depth+1)
		} else {
			v.Any = []any{int(data[1]), string(data[2:])}
		}
	}
	return v
}

// mutate changes one reachable part of v, chosen by sel. It reports false
// if the chosen part does not exist.
func mutate(v *fuzzValue, sel byte) bool {
	switch sel % 9 {
	case 0:
		v.N++
	case 1:
		v.F = math.Nextafter(v.F, math.Inf(1))
	case 2:
		v.S += "x"
	case 3:
		if len(v.Bytes) == 0 {
			return false
		}
		v.Bytes[len(v.Bytes)/2]++
	case 4:
		v.Tags = append(v.Tags, "new")
	case 5:
		v.M["zz-new"] = 1
	case 6:
		if v.P == nil {
			return false
		}
		return mutate(v.P, sel/9)
	case 7:
		v.hid++
	case 8:
		if p, ok := v.Any.(*fuzzValue); ok {
			return mutate(p, sel/9)
		}
		v.Any = "replaced"
	}
	return true
}

func FuzzHash(f *testing.F) {
	f.Add([]byte("hello"), byte(0), false)
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, byte(6), true)
	f.Add([]byte{}, byte(4), false)
	f.Add([]byte("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), byte(3), true)
	f.Add([]byte{0, 2, 4, 6, 8}, byte(8), false)
	f.Add([]byte{255, 1, 255, 1}, byte(7), true)
	f.Fuzz(func(t *testing.T, data []byte, sel byte, cyclic bool) {
		a, b := build(data, 0), build(data, 0)
		if cyclic {
			a.Any, b.Any = a, b
			if a.P != nil {
				a.P.P, b.P.P = a, b
			}
		}
		ka, err := cacheruntime.Hash(a)
		if err != nil {
			t.Fatal(err)
		}
		kb, _ := cacheruntime.Hash(b)
		if ka != kb {
			t.Fatalf("equal values hash differently: %x %x", ka, kb)
		}
		if !mutate(b, sel) {
			return
		}
		kb, _ = cacheruntime.Hash(b)
		if ka == kb {
			t.Fatalf("a change (selector %d) did not change the hash", sel)
		}
	})
}

func FuzzClone(f *testing.F) {
	f.Add([]byte("hello"), false)
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, true)
	f.Add([]byte{}, false)
	f.Fuzz(func(t *testing.T, data []byte, cyclic bool) {
		v := build(data, 0)
		if cyclic {
			v.Any = v
		}
		c := cacheruntime.Clone(v)
		if !cyclic && !reflect.DeepEqual(c, v) {
			t.Fatalf("clone differs")
		}
		if cyclic && c.Any.(*fuzzValue) != c {
			t.Fatal("cycle not preserved")
		}
		if s := sharedMemory(reflect.ValueOf(v), reflect.ValueOf(c)); s != "" {
			t.Fatalf("clone shares %s", s)
		}
		ka, _ := cacheruntime.Hash(v)
		kc, _ := cacheruntime.Hash(c)
		if ka != kc {
			t.Fatal("clone hashes differently")
		}
	})
}
