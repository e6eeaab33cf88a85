package cacheruntime

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"unsafe"
)

// A node is a hash of a part of a value together with the hashes of its
// parts (fields, elements, chunks of a long slice, map entries), down to a
// node budget. Two trees of the same value type can be compared to name the
// first part that differs: the changed field of a cached result that a
// caller mutated, or the argument field that made a call miss.
type node struct {
	label string // path segment relative to the parent: ".F", "[3]", "[0:512]", `["k"]`
	h     uint64
	kids  []node
}

// maxChildren is the fan-out used for long slices and maps.
const maxChildren = 16

type treeItem struct {
	n      *node
	v      reflect.Value // addressable value, or the slice for a chunk
	lo, hi int           // chunk bounds when chunk is true
	chunk  bool
}

// buildTree hashes v (which must be addressable) and, breadth first, its
// parts until budget nodes exist. Cycles are expanded once.
func buildTree(set *hashSet, v reflect.Value, budget int) *node {
	root := &node{h: hashReflect(set, v)}
	queue := []treeItem{{n: root, v: v}}
	seen := map[refKey]bool{}
	count := 1
	for len(queue) > 0 && count < budget {
		it := queue[0]
		queue = queue[1:]
		kids := expand(set, it, seen)
		if len(kids) == 0 || count+len(kids) > budget {
			continue
		}
		it.n.kids = make([]node, len(kids))
		for i := range kids {
			it.n.kids[i] = kids[i].node
			kids[i].item.n = &it.n.kids[i]
			queue = append(queue, kids[i].item)
		}
		count += len(kids)
	}
	return root
}

type kid struct {
	node node
	item treeItem
}

func expand(set *hashSet, it treeItem, seen map[refKey]bool) []kid {
	if it.chunk {
		return chunkKids(set, it.v, it.lo, it.hi)
	}
	v := it.v
	// Look through pointers and interfaces: they add no path segment.
	for {
		if _, covered := set.user[v.Type()]; covered {
			return nil
		}
		switch v.Kind() {
		case reflect.Pointer:
			if v.IsNil() {
				return nil
			}
			k := refKey{v.UnsafePointer(), v.Type()}
			if seen[k] {
				return nil
			}
			seen[k] = true
			v = v.Elem()
			continue
		case reflect.Interface:
			if v.IsNil() {
				return nil
			}
			e := v.Elem()
			c := reflect.New(e.Type()).Elem()
			c.Set(e)
			v = c
			continue
		}
		break
	}
	switch v.Kind() {
	case reflect.Struct:
		t := v.Type()
		if stdType(t) {
			// time.Time, big.Int, sync.Mutex...: their insides mean
			// nothing to the reader of a path.
			return nil
		}
		var out []kid
		for i := range t.NumField() {
			f := t.Field(i)
			if f.Name == "_" || (set.mode == modeKey && isContextType(f.Type)) {
				continue
			}
			fv := v.Field(i)
			out = append(out, kid{node{label: "." + f.Name, h: hashReflect(set, fv)}, treeItem{v: fv}})
		}
		return out
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice {
			if v.IsNil() {
				return nil
			}
			k := refKey{v.UnsafePointer(), v.Type()}
			if seen[k] {
				return nil
			}
			seen[k] = true
		}
		return chunkKids(set, v, 0, v.Len())
	case reflect.Map:
		if v.IsNil() || v.Len() > 4*maxChildren {
			return nil
		}
		keys := v.MapKeys()
		labels := make([]string, len(keys))
		for i, k := range keys {
			labels[i] = mapKeyLabel(k)
		}
		idx := make([]int, len(keys))
		for i := range idx {
			idx[i] = i
		}
		slices.SortFunc(idx, func(a, b int) int { return strings.Compare(labels[a], labels[b]) })
		out := make([]kid, 0, len(keys))
		for _, i := range idx {
			mv := reflect.New(v.Type().Elem()).Elem()
			mv.Set(v.MapIndex(keys[i]))
			out = append(out, kid{node{label: labels[i], h: hashReflect(set, mv)}, treeItem{v: mv}})
		}
		return out
	}
	return nil
}

// chunkKids splits elements [lo, hi) into single elements or chunks.
func chunkKids(set *hashSet, v reflect.Value, lo, hi int) []kid {
	n := hi - lo
	if n <= 0 {
		return nil
	}
	if n <= maxChildren {
		out := make([]kid, n)
		for i := range n {
			ev := v.Index(lo + i)
			out[i] = kid{node{label: fmt.Sprintf("[%d]", lo+i), h: hashReflect(set, ev)}, treeItem{v: ev}}
		}
		return out
	}
	size := (n + maxChildren - 1) / maxChildren
	var out []kid
	c := set.of(v.Type().Elem())
	for a := lo; a < hi; a += size {
		b := min(a+size, hi)
		out = append(out, kid{
			node{label: fmt.Sprintf("[%d:%d]", a, b), h: hashRange(set, c, v, a, b)},
			treeItem{v: v, lo: a, hi: b, chunk: true},
		})
	}
	return out
}

func mapKeyLabel(k reflect.Value) string {
	switch k.Kind() {
	case reflect.String:
		s := k.String()
		if len(s) > 40 {
			s = s[:40] + "…"
		}
		return fmt.Sprintf("[%q]", s)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Bool, reflect.Float32, reflect.Float64:
		return fmt.Sprintf("[%v]", k.Interface())
	}
	s := fmt.Sprintf("%v", k.Interface())
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return "[" + s + "]"
}

// hashReflect hashes an addressable reflect.Value with the compiled
// function for its type (one lane; failures hash as a marker).
func hashReflect(set *hashSet, v reflect.Value) uint64 {
	if !v.CanAddr() {
		c := reflect.New(v.Type()).Elem()
		c.Set(v)
		v = c
	}
	a, _, fail := hashValue(set, set.of(v.Type()), v.Addr().UnsafePointer(), false)
	if fail != nil {
		return 0xfa11
	}
	return a
}

// hashRange hashes elements [lo, hi) of a slice or addressable array.
func hashRange(set *hashSet, c *compiled, v reflect.Value, lo, hi int) uint64 {
	return hashReflect(set, v.Slice(lo, hi))
}

// diffTrees returns the path of the first part that differs between two
// trees of values of the same type, as deep as both trees go. It returns
// ok=false when the hashes are equal.
func diffTrees(a, b *node) (path string, ok bool) {
	if a == nil || b == nil || a.h == b.h {
		return "", false
	}
	var sb strings.Builder
	for {
		if len(a.kids) == 0 || len(b.kids) == 0 {
			return sb.String(), true
		}
		next := -1
		if len(a.kids) == len(b.kids) {
			for i := range a.kids {
				if a.kids[i].label != b.kids[i].label {
					return sb.String(), true
				}
				if a.kids[i].h != b.kids[i].h && next < 0 {
					next = i
				}
			}
		} else if a.kids[0].label[0] == '[' && !strings.Contains(a.kids[0].label, ":") && !strings.Contains(b.kids[0].label, ":") {
			// element lists of different length: the first differing
			// element, else the length changed
			n := min(len(a.kids), len(b.kids))
			for i := range n {
				if a.kids[i].label != b.kids[i].label {
					return sb.String(), true
				}
				if a.kids[i].h != b.kids[i].h {
					next = i
					break
				}
			}
			if next < 0 {
				return sb.String(), true
			}
		} else {
			return sb.String(), true
		}
		if next < 0 {
			return sb.String(), true
		}
		label := a.kids[next].label
		if segs := sb.String(); strings.HasSuffix(segs, "]") && strings.HasPrefix(label, "[") && isRange(lastSeg(segs)) {
			// A chunk inside a chunk: keep only the narrower one.
			sb.Reset()
			sb.WriteString(segs[:len(segs)-len(lastSeg(segs))])
		}
		sb.WriteString(label)
		a, b = &a.kids[next], &b.kids[next]
	}
}

// treeOf builds a detail tree for the value of type t at p.
func treeOf(set *hashSet, t reflect.Type, p unsafe.Pointer, budget int) *node {
	return buildTree(set, reflect.NewAt(t, p).Elem(), budget)
}

// lastSeg returns the last bracketed segment of a path ending in "]".
func lastSeg(path string) string {
	if i := strings.LastIndexByte(path, '['); i >= 0 {
		return path[i:]
	}
	return ""
}

// isRange reports whether a segment is a chunk like "[0:512]".
func isRange(seg string) bool {
	return strings.HasPrefix(seg, "[") && strings.Contains(seg, ":") && !strings.Contains(seg, "\"")
}

// stdType reports whether t is a named type from the standard library.
func stdType(t reflect.Type) bool {
	pkg := t.PkgPath()
	if pkg == "" {
		return false
	}
	first, _, _ := strings.Cut(pkg, "/")
	return stdRoots[first]
}

// stdRoots are the top-level directories of the standard library.
var stdRoots = map[string]bool{
	"archive": true, "arena": true, "bufio": true, "bytes": true, "cmp": true, "compress": true, "container": true,
	"context": true, "crypto": true, "database": true, "debug": true, "embed": true, "encoding": true,
	"errors": true, "expvar": true, "flag": true, "fmt": true, "go": true, "hash": true, "html": true,
	"image": true, "index": true, "internal": true, "io": true, "iter": true, "log": true, "maps": true,
	"math": true, "mime": true, "net": true, "os": true, "path": true, "plugin": true, "reflect": true,
	"regexp": true, "runtime": true, "simd": true, "slices": true, "sort": true, "strconv": true, "strings": true,
	"structs": true, "sync": true, "syscall": true, "testing": true, "text": true, "time": true,
	"unicode": true, "unique": true, "unsafe": true, "weak": true,
}
