package cacheruntime_test

import (
	"reflect"
	"testing"
	"unsafe"

	"github.com/cachelens/cachelens/cacheruntime"
)

type Labels map[string]string

type deep struct {
	Name    string
	secret  []int
	Labels  Labels
	ByID    map[int]*deep
	Any     any
	Arr     [2][]byte
	Fn      func() int
	Ch      chan int
	Self    *deep
	Shared1 *point
	Shared2 *point
	Iface   interface{ M() }
}

type impl struct{ V []int }

func (impl) M() {}

func sample() *deep {
	p := &point{1, 2}
	d := &deep{
		Name:    "root",
		secret:  []int{1, 2, 3},
		Labels:  Labels{"a": "b"},
		ByID:    map[int]*deep{},
		Any:     []string{"x"},
		Arr:     [2][]byte{[]byte("ab"), nil},
		Fn:      func() int { return 1 },
		Ch:      make(chan int),
		Shared1: p,
		Shared2: p,
		Iface:   impl{V: []int{9}},
	}
	d.Self = d
	d.ByID[1] = d
	d.ByID[2] = &deep{Name: "child", Any: d}
	return d
}

func TestClone(t *testing.T) {
	d := sample()
	c := cacheruntime.Clone(d)
	if c == d {
		t.Fatal("same pointer")
	}
	if c.Self != c || c.ByID[1] != c || c.ByID[2].Any.(*deep) != c {
		t.Fatal("cycles not preserved")
	}
	if c.Shared1 != c.Shared2 || c.Shared1 == d.Shared1 {
		t.Fatal("aliasing not preserved")
	}
	if !reflect.DeepEqual(c.secret, d.secret) || &c.secret[0] == &d.secret[0] {
		t.Fatal("unexported field not copied deeply")
	}
	if reflect.TypeOf(c.Labels) != reflect.TypeOf(Labels{}) || c.Labels["a"] != "b" {
		t.Fatal("named map type lost")
	}
	if c.Fn() != 1 || c.Ch != d.Ch {
		t.Fatal("funcs and chans are copied by reference")
	}
	// Changing the copy leaves the original alone.
	c.secret[0] = 100
	c.Labels["a"] = "z"
	c.Any.([]string)[0] = "y"
	c.Arr[0][0] = 'z'
	c.Shared1.X = 50
	c.Iface.(impl).V[0] = 0
	c.ByID[2].Name = "changed"
	if d.secret[0] != 1 || d.Labels["a"] != "b" || d.Any.([]string)[0] != "x" || d.Arr[0][0] != 'a' ||
		d.Shared1.X != 1 || d.Iface.(impl).V[0] != 9 || d.ByID[2].Name != "child" {
		t.Fatal("the copy shares memory with the original")
	}
}

func TestCloneValues(t *testing.T) {
	type pair struct {
		A []int
		B []int
	}
	backing := []int{1, 2, 3}
	cases := []any{
		nil,
		42,
		"str",
		[]float64{1, 2, 3},
		[]float64(nil),
		map[string]int{"a": 1},
		map[point][]int{{1, 2}: {3}},
		[3]*point{{1, 1}, nil, {2, 2}},
		&pair{A: backing, B: backing},
		struct{ M map[string]any }{map[string]any{"n": map[string]any{"k": []any{1, "2"}}}},
	}
	for _, v := range cases {
		c := cacheruntime.Clone(v)
		if !reflect.DeepEqual(c, v) {
			t.Errorf("Clone(%#v) = %#v", v, c)
		}
		if shared := sharedMemory(reflect.ValueOf(v), reflect.ValueOf(c)); shared != "" {
			t.Errorf("Clone(%#v) shares %s", v, shared)
		}
	}
	p := cacheruntime.Clone(&pair{A: backing, B: backing})
	if &p.A[0] != &p.B[0] {
		t.Error("slices sharing a backing array should share it in the copy")
	}
}

// sharedMemory walks two values of the same shape and names the first
// mutable object (pointer target, slice backing array, map) they share.
func sharedMemory(a, b reflect.Value) string {
	seen := map[unsafe.Pointer]bool{}
	var walk func(a, b reflect.Value, path string) string
	walk = func(a, b reflect.Value, path string) string {
		if !a.IsValid() || !b.IsValid() {
			return ""
		}
		switch a.Kind() {
		case reflect.Pointer, reflect.Map, reflect.Slice:
			if a.IsNil() || b.IsNil() {
				return ""
			}
			if a.Kind() != reflect.Slice || a.Len() > 0 {
				if a.UnsafePointer() == b.UnsafePointer() {
					return path
				}
			}
			if seen[a.UnsafePointer()] {
				return ""
			}
			seen[a.UnsafePointer()] = true
		}
		switch a.Kind() {
		case reflect.Pointer, reflect.Interface:
			if a.IsNil() {
				return ""
			}
			return walk(a.Elem(), b.Elem(), path+"*")
		case reflect.Slice, reflect.Array:
			for i := range a.Len() {
				if s := walk(a.Index(i), b.Index(i), path+"[]"); s != "" {
					return s
				}
			}
		case reflect.Struct:
			for i := range a.NumField() {
				if s := walk(a.Field(i), b.Field(i), path+"."+a.Type().Field(i).Name); s != "" {
					return s
				}
			}
		case reflect.Map:
			it := a.MapRange()
			for it.Next() {
				if s := walk(it.Value(), b.MapIndex(it.Key()), path+"[k]"); s != "" {
					return s
				}
			}
		}
		return ""
	}
	return walk(a, b, "")
}
