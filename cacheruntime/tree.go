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
	n     *node
	p     unsafe.Pointer // the value, or for a chunk the first element
	t     reflect.Type   // its type, or for a chunk the element type
	lo    int            // chunk bounds when chunk is true
	hi    int
	chunk bool
}

// treeBuilder builds one detail tree. It reads values through pointers and
// types only (never reflect.Value.Set or Interface on values reached
// through unexported fields), and it replays HashFunc results recorded
// while the key was hashed instead of running the HashFuncs again.
type treeBuilder struct {
	set  *hashSet
	rec  *userRecord
	seen map[refKey]bool
	memo walk // shared by the hashes of the parts
}

// treeOf builds a detail tree for the value of type t at p: its hash and,
// breadth first, the hashes of its parts until budget nodes exist. Cycles
// are expanded once. rec holds the HashFunc results of the key hash of the
// same value (nil for results).
func treeOf(set *hashSet, t reflect.Type, p unsafe.Pointer, budget int, rec *userRecord) *node {
	b := &treeBuilder{set: set, rec: rec, seen: map[refKey]bool{}}
	root := &node{h: b.hash(t, p)}
	queue := []treeItem{{n: root, p: p, t: t}}
	count := 1
	for len(queue) > 0 && count < budget {
		it := queue[0]
		queue = queue[1:]
		kids := b.expand(it)
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

type treeKid struct {
	node node
	item treeItem
}

// hash hashes one part (one lane; a failure hashes as a marker).
func (b *treeBuilder) hash(t reflect.Type, p unsafe.Pointer) uint64 {
	a, _, fail := hashReplay(b.set, b.set.of(t), p, b.rec, &b.memo)
	if fail != nil {
		return 0xfa11
	}
	return a
}

func (b *treeBuilder) expand(it treeItem) []treeKid {
	if it.chunk {
		return b.chunkKids(it.p, it.t, it.lo, it.hi)
	}
	p, t := it.p, it.t
	// Look through pointers and interfaces: they add no path segment.
	for {
		if _, covered := b.set.user[t]; covered {
			return nil
		}
		switch t.Kind() {
		case reflect.Pointer:
			q := *(*unsafe.Pointer)(p)
			if q == nil || b.mark(refKeyOf(q, typePtr(t.Elem()), 0)) {
				return nil
			}
			p, t = q, t.Elem()
			continue
		case reflect.Interface:
			data, dyn, ok := ifaceData(p, t)
			if !ok {
				return nil
			}
			p, t = data, dyn
			continue
		}
		break
	}
	switch t.Kind() {
	case reflect.Struct:
		if stdType(t) {
			// time.Time, big.Int, sync.Mutex...: their insides mean
			// nothing to the reader of a path.
			return nil
		}
		var out []treeKid
		for i := range t.NumField() {
			f := t.Field(i)
			if f.Name == "_" || (b.set.mode == modeKey && isContextType(f.Type)) {
				continue
			}
			fp := unsafe.Add(p, f.Offset)
			out = append(out, treeKid{node{label: "." + f.Name, h: b.hash(f.Type, fp)}, treeItem{p: fp, t: f.Type}})
		}
		return out
	case reflect.Array:
		return b.chunkKids(p, t.Elem(), 0, t.Len())
	case reflect.Slice:
		sh := (*sliceHeader)(p)
		if sh.data == nil || b.mark(refKeyOf(sh.data, typePtr(t), sh.len)) {
			return nil
		}
		return b.chunkKids(sh.data, t.Elem(), 0, sh.len)
	case reflect.Map:
		m := *(*unsafe.Pointer)(p)
		if m == nil || b.mark(refKeyOf(m, typePtr(t), 0)) {
			return nil
		}
		// A Value made with NewAt is not marked read-only, whatever path
		// led to the map, so its entries can be copied out.
		mv := reflect.NewAt(t, p).Elem()
		if mv.Len() > 4*maxChildren {
			return nil
		}
		var labels []string
		var vals []unsafe.Pointer
		it := mv.MapRange()
		for it.Next() {
			labels = append(labels, mapKeyLabel(it.Key()))
			v := reflect.New(t.Elem())
			v.Elem().SetIterValue(it)
			vals = append(vals, v.UnsafePointer())
		}
		idx := make([]int, len(labels))
		for i := range idx {
			idx[i] = i
		}
		slices.SortStableFunc(idx, func(a, b int) int { return strings.Compare(labels[a], labels[b]) })
		out := make([]treeKid, 0, len(idx))
		for _, i := range idx {
			out = append(out, treeKid{node{label: labels[i], h: b.hash(t.Elem(), vals[i])}, treeItem{p: vals[i], t: t.Elem()}})
		}
		return out
	}
	return nil
}

func (b *treeBuilder) mark(k refKey) bool {
	if b.seen[k] {
		return true
	}
	b.seen[k] = true
	return false
}

// chunkKids splits elements [lo, hi) of the elements of type et at base
// into single elements or chunks.
func (b *treeBuilder) chunkKids(base unsafe.Pointer, et reflect.Type, lo, hi int) []treeKid {
	n := hi - lo
	if n <= 0 {
		return nil
	}
	size := et.Size()
	if n <= maxChildren {
		out := make([]treeKid, n)
		for i := range n {
			ep := unsafe.Add(base, uintptr(lo+i)*size)
			out[i] = treeKid{node{label: fmt.Sprintf("[%d]", lo+i), h: b.hash(et, ep)}, treeItem{p: ep, t: et}}
		}
		return out
	}
	step := (n + maxChildren - 1) / maxChildren
	st := reflect.SliceOf(et)
	var out []treeKid
	for a := lo; a < hi; a += step {
		e := min(a+step, hi)
		hdr := sliceHeader{unsafe.Add(base, uintptr(a)*size), e - a, e - a}
		out = append(out, treeKid{
			node{label: fmt.Sprintf("[%d:%d]", a, e), h: b.hash(st, unsafe.Pointer(&hdr))},
			treeItem{p: base, t: et, lo: a, hi: e, chunk: true},
		})
	}
	return out
}

// mapKeyLabel renders a map key as a path segment. k must not be
// read-only (it comes from a map reached through NewAt).
func mapKeyLabel(k reflect.Value) string {
	switch k.Kind() {
	case reflect.String:
		s := k.String()
		if len(s) > 40 {
			s = s[:40] + "…"
		}
		return fmt.Sprintf("[%q]", s)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return fmt.Sprintf("[%d]", k.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return fmt.Sprintf("[%d]", k.Uint())
	case reflect.Bool:
		return fmt.Sprintf("[%t]", k.Bool())
	case reflect.Float32, reflect.Float64:
		return fmt.Sprintf("[%v]", k.Float())
	}
	var s string
	if k.CanInterface() {
		s = fmt.Sprintf("%v", k.Interface())
	} else {
		s = k.Type().String()
	}
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return "[" + s + "]"
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

// flatDiff returns the path (as diffTrees writes it) of the first part of
// a that differs from b, two values of a flat type t (plain memory and
// strings), and whether one does. Arrays longer than maxChildren are
// reported whole, as their trees would stop at a range.
func flatDiff(t reflect.Type, a, b unsafe.Pointer) (string, bool) {
	switch t.Kind() {
	case reflect.String:
		return "", *(*string)(a) != *(*string)(b)
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			if path, ok := flatDiff(f.Type, unsafe.Add(a, f.Offset), unsafe.Add(b, f.Offset)); ok {
				return "." + f.Name + path, true
			}
		}
		return "", false
	case reflect.Array:
		et := t.Elem()
		for i := range t.Len() {
			if path, ok := flatDiff(et, unsafe.Add(a, uintptr(i)*et.Size()), unsafe.Add(b, uintptr(i)*et.Size())); ok {
				if t.Len() > maxChildren {
					return "", true
				}
				return fmt.Sprintf("[%d]", i) + path, true
			}
		}
		return "", false
	}
	n := int(t.Size())
	return "", string(unsafe.Slice((*byte)(a), n)) != string(unsafe.Slice((*byte)(b), n))
}
