package runtimebench

import (
	"fmt"
	"hash/maphash"
	"math"
	"reflect"
	"sort"
)

// Record is the struct the figures were measured on: an int, a
// string, a 3-string slice and an 8-entry map.
type Record struct {
	ID     int
	Name   string
	Tags   []string
	Labels map[string]string
}

// NewRecord returns the benchmark value.
func NewRecord() Record {
	r := Record{ID: 12345, Name: "catalog-eu-west", Tags: []string{"kitchen", "sale", "new"}, Labels: map[string]string{}}
	for i := range 8 {
		r.Labels[fmt.Sprintf("label-%d", i)] = fmt.Sprintf("value-%d", i*7)
	}
	return r
}

// Floats returns an 8 MB []float64.
func Floats() []float64 {
	f := make([]float64, 1<<20)
	for i := range f {
		f[i] = math.Sqrt(float64(i))
	}
	return f
}

var refSeed = maphash.MakeSeed()

// ReferenceHash is a straightforward reflection walk over hash/maphash, the
// baseline the issue measured (~570 ns on Record).
func ReferenceHash(v any) uint64 {
	var h maphash.Hash
	h.SetSeed(refSeed)
	refWalk(&h, reflect.ValueOf(v))
	return h.Sum64()
}

func refWalk(h *maphash.Hash, v reflect.Value) {
	switch v.Kind() {
	case reflect.Int, reflect.Int64, reflect.Int32:
		var b [8]byte
		u := uint64(v.Int())
		for i := range b {
			b[i] = byte(u >> (8 * i))
		}
		h.Write(b[:])
	case reflect.String:
		h.WriteString(v.String())
	case reflect.Slice:
		for i := range v.Len() {
			refWalk(h, v.Index(i))
		}
	case reflect.Struct:
		for i := range v.NumField() {
			refWalk(h, v.Field(i))
		}
	case reflect.Map:
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		for _, k := range keys {
			refWalk(h, k)
			refWalk(h, v.MapIndex(k))
		}
	}
}
