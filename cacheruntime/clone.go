package cacheruntime

import (
	"reflect"
	"sync"
	"unsafe"

	"github.com/cachelens/cachelens/cacheruntime/internal/noescape"
)

// Clone returns a deep copy of v: pointers, slices, maps and interfaces are
// copied recursively, unexported fields included, so the copy shares no
// mutable memory with v. Cycles terminate and aliasing is preserved: two
// pointers to one object, two slices with the same start (the copy then
// holds the larger capacity), or one map reached twice lead to one object
// in the copy. Slices that overlap from different starts are copied
// separately. Strings and boxed immutable values are shared (they cannot
// change); funcs, chans and unsafe.Pointers are copied by reference.
//
// Depth costs heap, not stack: a linked list of millions of nodes clones
// like a slice of them.
//
// Use it on a cached result before changing it (Python's copy.deepcopy):
//
//	cat := cacheruntime.Clone(loadCatalog())
//	cat.Items[0].Price = 0 // the cached catalog is untouched
func Clone[T any](v T) T {
	c := cloners.of(reflect.TypeFor[T]())
	if c.shallow {
		return v
	}
	var out T
	var cs cstate
	csp := (*cstate)(noescape.Pointer(unsafe.Pointer(&cs)))
	csp.run(c, noescape.Pointer(unsafe.Pointer(&out)), noescape.Pointer(unsafe.Pointer(&v)))
	if csp.grow {
		// A slice met an earlier, smaller copy of its start: clone again
		// with every start sized for its largest slice (the copies made
		// hold the largest capacity seen for each start; maps may be
		// walked in another order the second time, so every start gets
		// its size, not only the one that grew).
		*csp = cstate{hints: csp.sliceCaps()}
		out = *new(T)
		csp.run(c, noescape.Pointer(unsafe.Pointer(&out)), noescape.Pointer(unsafe.Pointer(&v)))
	}
	return out
}

// cloneFn deep-copies the value at src into dst (both of the same type).
// References to objects of types that may cycle are allocated at once and
// filled later from cstate.work, so the copy never recurses per reference.
type cloneFn func(cs *cstate, dst, src unsafe.Pointer)

// copied is an object already copied: its copy and, for a slice's backing
// array, the number of elements the copy holds.
type copied struct {
	p   unsafe.Pointer
	cap int
}

// cstate remembers the objects already copied, for cycles and aliasing,
// and the copies still to fill.
type cstate struct {
	small [8]struct {
		k refKey
		v copied
	}
	n    int
	more map[refKey]copied

	work  []cloneWork
	grow  bool           // a slice was larger than the copy of its start
	hints map[refKey]int // on a second pass: the capacity to copy per slice start
}

// cloneWork is a copy to fill: n elements (or one object) of c from src
// into dst, or the entries of a map.
type cloneWork struct {
	dst, src unsafe.Pointer
	c        *cloner
	n        int // elements for a slice's backing array; 0 for one object
	m        *mapClone
}

// sliceCaps returns the capacity of the copy made for each slice start.
func (cs *cstate) sliceCaps() map[refKey]int {
	caps := map[refKey]int{}
	for i := range cs.n {
		if cs.small[i].v.cap > 0 {
			caps[cs.small[i].k] = cs.small[i].v.cap
		}
	}
	for k, v := range cs.more {
		if v.cap > 0 {
			caps[k] = v.cap
		}
	}
	return caps
}

func (cs *cstate) lookup(k refKey) (copied, bool) {
	for i := range cs.n {
		if cs.small[i].k == k {
			return cs.small[i].v, true
		}
	}
	if cs.more != nil {
		v, ok := cs.more[k]
		return v, ok
	}
	return copied{}, false
}

func (cs *cstate) store(k refKey, v copied) {
	for i := range cs.n {
		if cs.small[i].k == k {
			cs.small[i].v = v
			return
		}
	}
	if cs.n < len(cs.small) {
		cs.small[cs.n].k, cs.small[cs.n].v = k, v
		cs.n++
		return
	}
	if cs.more == nil {
		cs.more = map[refKey]copied{}
	}
	cs.more[k] = v
}

// run copies the value at src into dst, then fills the deferred copies.
func (cs *cstate) run(c *cloner, dst, src unsafe.Pointer) {
	c.fn(cs, dst, src)
	for len(cs.work) > 0 {
		w := cs.work[len(cs.work)-1]
		cs.work = cs.work[:len(cs.work)-1]
		switch {
		case w.m != nil:
			w.m.fill(cs, w.dst, w.src)
		case w.n > 0:
			size := w.c.t.Size()
			for i := range w.n {
				w.c.fn(cs, unsafe.Add(w.dst, uintptr(i)*size), unsafe.Add(w.src, uintptr(i)*size))
			}
		default:
			w.c.fn(cs, w.dst, w.src)
		}
	}
}

type cloner struct {
	t        reflect.Type
	fn       cloneFn
	shallow  bool // a plain copy is a deep copy
	mayCycle bool // copies of objects of this type are deferred
}

type clonerSet struct {
	mu    sync.Mutex
	cache sync.Map // reflect.Type → *cloner
}

var cloners clonerSet

func (s *clonerSet) of(t reflect.Type) *cloner {
	if c, ok := s.cache.Load(t); ok {
		return c.(*cloner)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.compile(t, map[reflect.Type]*cloner{})
}

func (s *clonerSet) compile(t reflect.Type, building map[reflect.Type]*cloner) *cloner {
	if c, ok := s.cache.Load(t); ok {
		return c.(*cloner)
	}
	if c, ok := building[t]; ok {
		return c
	}
	c := &cloner{t: t, shallow: shallowType(t), mayCycle: infoOf(t).mayCycle}
	building[t] = c
	c.fn = s.build(t, c.shallow, building)
	s.cache.Store(t, c)
	return c
}

// shallowType reports whether copying a value's memory copies it deeply:
// nothing inside can be changed through a reference (strings are immutable;
// funcs, chans and unsafe.Pointers are copied by reference anyway).
func shallowType(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
		return false
	case reflect.Array:
		return t.Len() == 0 || shallowType(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if !shallowType(t.Field(i).Type) {
				return false
			}
		}
	}
	return true
}

func memcopy(dst, src unsafe.Pointer, n uintptr) {
	copy(unsafe.Slice((*byte)(dst), n), unsafe.Slice((*byte)(src), n))
}

// copyPlain returns a new copy of n bytes of pointer-free memory at src.
// append to a nil slice allocates without zeroing the bytes it is about to
// overwrite; a []uint64 keeps 8-byte alignment, and the allocator aligns
// smaller sizes to their own multiple, as element types need.
func copyPlain(src unsafe.Pointer, n uintptr) unsafe.Pointer {
	if n%8 == 0 {
		s := append([]uint64(nil), unsafe.Slice((*uint64)(src), n/8)...)
		return unsafe.Pointer(unsafe.SliceData(s))
	}
	s := append([]byte(nil), unsafe.Slice((*byte)(src), n)...)
	return unsafe.Pointer(unsafe.SliceData(s))
}

// typedCopy returns a function that copies one value of t with write
// barriers (t may hold pointers).
func typedCopy(t reflect.Type) cloneFn {
	if infoOf(t).pointerFree {
		n := t.Size()
		return func(cs *cstate, dst, src unsafe.Pointer) { memcopy(dst, src, n) }
	}
	switch t.Kind() {
	case reflect.String:
		return func(cs *cstate, dst, src unsafe.Pointer) { *(*string)(dst) = *(*string)(src) }
	case reflect.Func, reflect.Chan, reflect.UnsafePointer, reflect.Pointer, reflect.Map:
		return func(cs *cstate, dst, src unsafe.Pointer) { *(*unsafe.Pointer)(dst) = *(*unsafe.Pointer)(src) }
	}
	return func(cs *cstate, dst, src unsafe.Pointer) {
		reflect.NewAt(t, dst).Elem().Set(reflect.NewAt(t, src).Elem())
	}
}

func (s *clonerSet) build(t reflect.Type, shallow bool, building map[reflect.Type]*cloner) cloneFn {
	if shallow {
		return typedCopy(t)
	}
	switch t.Kind() {
	case reflect.Struct:
		return s.buildStruct(t, building)
	case reflect.Array:
		ec := s.compile(t.Elem(), building)
		n, size := t.Len(), t.Elem().Size()
		return func(cs *cstate, dst, src unsafe.Pointer) {
			for i := range n {
				ec.fn(cs, unsafe.Add(dst, uintptr(i)*size), unsafe.Add(src, uintptr(i)*size))
			}
		}
	case reflect.Pointer:
		return s.buildPointer(t, building)
	case reflect.Slice:
		return s.buildSlice(t, building)
	case reflect.Map:
		return s.buildMap(t, building)
	case reflect.Interface:
		return buildInterfaceClone(t)
	}
	return typedCopy(t)
}

func (s *clonerSet) buildStruct(t reflect.Type, building map[reflect.Type]*cloner) cloneFn {
	type fieldClone struct {
		off uintptr
		fn  cloneFn
	}
	var fields []fieldClone
	// Runs of pointer-free fields are copied as one block.
	runStart, runEnd := uintptr(0), uintptr(0)
	flush := func() {
		if runEnd > runStart {
			n := runEnd - runStart
			fields = append(fields, fieldClone{runStart, func(cs *cstate, dst, src unsafe.Pointer) { memcopy(dst, src, n) }})
		}
	}
	for i := range t.NumField() {
		f := t.Field(i)
		if infoOf(f.Type).pointerFree {
			if runEnd == runStart || f.Offset > runEnd {
				flush()
				runStart = f.Offset
			}
			runEnd = f.Offset + f.Type.Size()
			continue
		}
		flush()
		runStart, runEnd = 0, 0
		fc := s.compile(f.Type, building)
		fn := typedCopyOr(fc, f.Type)
		fields = append(fields, fieldClone{f.Offset, fn})
	}
	flush()
	return func(cs *cstate, dst, src unsafe.Pointer) {
		for _, f := range fields {
			f.fn(cs, unsafe.Add(dst, f.off), unsafe.Add(src, f.off))
		}
	}
}

func (s *clonerSet) buildPointer(t reflect.Type, building map[reflect.Type]*cloner) cloneFn {
	et := t.Elem()
	ec := s.compile(et, building)
	tp := typePtr(et)
	return func(cs *cstate, dst, src unsafe.Pointer) {
		p := *(*unsafe.Pointer)(src)
		if p == nil {
			*(*unsafe.Pointer)(dst) = nil
			return
		}
		k := refKeyOf(p, tp, 0)
		if q, ok := cs.lookup(k); ok {
			*(*unsafe.Pointer)(dst) = q.p
			return
		}
		q := reflect.New(et).UnsafePointer()
		cs.store(k, copied{p: q})
		*(*unsafe.Pointer)(dst) = q
		if ec.mayCycle {
			cs.work = append(cs.work, cloneWork{dst: q, src: p, c: ec})
			return
		}
		ec.fn(cs, q, p)
	}
}

func (s *clonerSet) buildSlice(t reflect.Type, building map[reflect.Type]*cloner) cloneFn {
	et := t.Elem()
	ec := s.compile(et, building)
	size := et.Size()
	pf := infoOf(et).pointerFree
	tp := typePtr(t)
	return func(cs *cstate, dst, src unsafe.Pointer) {
		sh := (*sliceHeader)(src)
		if sh.data == nil {
			*(*sliceHeader)(dst) = sliceHeader{}
			return
		}
		k := refKeyOf(sh.data, tp, 0)
		if sh.cap == 0 {
			// No elements: nothing to copy, but the copy must not keep
			// the original's memory alive.
			if q, ok := cs.lookup(k); ok {
				*(*sliceHeader)(dst) = sliceHeader{q.p, 0, 0}
			} else {
				*(*sliceHeader)(dst) = sliceHeader{reflect.MakeSlice(t, 0, 0).UnsafePointer(), 0, 0}
			}
			return
		}
		if q, ok := cs.lookup(k); ok {
			if q.cap >= sh.cap {
				*(*sliceHeader)(dst) = sliceHeader{q.p, sh.len, sh.cap}
				return
			}
			// An earlier slice of this start was shorter: this one gets a
			// copy of its own now, and the clone is redone with the start
			// sized for both.
			cs.grow = true
		}
		n := max(sh.cap, cs.hints[k])
		var q unsafe.Pointer
		switch {
		case pf:
			q = copyPlain(sh.data, uintptr(n)*size)
		default:
			q = reflect.MakeSlice(t, n, n).UnsafePointer()
			switch {
			case ec.shallow:
				typedmemmove(et, q, sh.data, n)
			case ec.mayCycle:
				cs.work = append(cs.work, cloneWork{dst: q, src: sh.data, c: ec, n: n})
			default:
				for i := range n {
					ec.fn(cs, unsafe.Add(q, uintptr(i)*size), unsafe.Add(sh.data, uintptr(i)*size))
				}
			}
		}
		if prev, ok := cs.lookup(k); !ok || prev.cap < n {
			cs.store(k, copied{p: q, cap: n})
		}
		*(*sliceHeader)(dst) = sliceHeader{q, sh.len, sh.cap}
	}
}

// typedmemmove copies n elements of type et from src to dst with write
// barriers.
func typedmemmove(et reflect.Type, dst, src unsafe.Pointer, n int) {
	st := reflect.SliceOf(et)
	d := reflect.NewAt(st, unsafe.Pointer(&sliceHeader{dst, n, n})).Elem()
	s := reflect.NewAt(st, unsafe.Pointer(&sliceHeader{src, n, n})).Elem()
	reflect.Copy(d, s)
}

func buildInterfaceClone(t reflect.Type) cloneFn {
	return func(cs *cstate, dst, src unsafe.Pointer) {
		e := (*eface)(src)
		if e.tab == nil {
			*(*eface)(dst) = eface{}
			return
		}
		_, dyn, _ := ifaceData(src, t)
		dc := cloners.of(dyn)
		if dc.shallow {
			// Values boxed in an interface cannot be changed in place; an
			// immutable one can be shared.
			*(*eface)(dst) = *e
			return
		}
		if infoOf(dyn).directIface {
			// A single reference: copied now (its target is deferred if
			// it may cycle).
			var w unsafe.Pointer
			dc.fn(cs, noescape.Pointer(unsafe.Pointer(&w)), noescape.Pointer(unsafe.Pointer(&e.data)))
			*(*eface)(dst) = eface{e.tab, w}
			return
		}
		q := reflect.New(dyn).UnsafePointer()
		*(*eface)(dst) = eface{e.tab, q}
		if dc.mayCycle {
			cs.work = append(cs.work, cloneWork{dst: q, src: e.data, c: dc})
			return
		}
		dc.fn(cs, q, e.data)
	}
}

func typedCopyOr(c *cloner, t reflect.Type) cloneFn {
	if c.shallow {
		return typedCopy(t)
	}
	return func(cs *cstate, dst, src unsafe.Pointer) { c.fn(cs, dst, src) }
}

// mapClone fills the copy of a map of one type.
type mapClone struct {
	t      reflect.Type
	kc, vc *cloner
}

// fill copies the entries of the map src (a map pointer) into the map
// dst. Keys and values are copied through scratch space; what they
// reference is allocated at once, so the copies inserted are complete.
func (m *mapClone) fill(cs *cstate, dst, src unsafe.Pointer) {
	kt, vt := m.t.Key(), m.t.Elem()
	sv := reflect.NewAt(m.t, unsafe.Pointer(&src)).Elem()
	nv := reflect.NewAt(m.t, unsafe.Pointer(&dst)).Elem()
	k, v := reflect.New(kt).Elem(), reflect.New(vt).Elem()
	kp, vp := k.Addr().UnsafePointer(), v.Addr().UnsafePointer()
	ck, cv := reflect.New(kt).Elem(), reflect.New(vt).Elem()
	ckp, cvp := ck.Addr().UnsafePointer(), cv.Addr().UnsafePointer()
	it := sv.MapRange()
	for it.Next() {
		k.SetIterKey(it)
		v.SetIterValue(it)
		m.kc.fn(cs, ckp, kp)
		m.vc.fn(cs, cvp, vp)
		nv.SetMapIndex(ck, cv)
	}
}

func (s *clonerSet) buildMap(t reflect.Type, building map[reflect.Type]*cloner) cloneFn {
	kc, vc := s.compile(t.Key(), building), s.compile(t.Elem(), building)
	var native func(src unsafe.Pointer) unsafe.Pointer
	if kc.shallow && vc.shallow {
		native = nativeMapCopy(t)
	}
	mc := &mapClone{t: t, kc: kc, vc: vc}
	deferFill := infoOf(t).mayCycle
	tp := typePtr(t)
	return func(cs *cstate, dst, src unsafe.Pointer) {
		m := *(*unsafe.Pointer)(src)
		if m == nil {
			*(*unsafe.Pointer)(dst) = nil
			return
		}
		k := refKeyOf(m, tp, 0)
		if q, ok := cs.lookup(k); ok {
			*(*unsafe.Pointer)(dst) = q.p
			return
		}
		var q unsafe.Pointer
		if native != nil {
			q = native(src)
			cs.store(k, copied{p: q})
			*(*unsafe.Pointer)(dst) = q
			return
		}
		q = reflect.MakeMapWithSize(t, reflect.NewAt(t, src).Elem().Len()).UnsafePointer()
		cs.store(k, copied{p: q})
		*(*unsafe.Pointer)(dst) = q
		if deferFill {
			cs.work = append(cs.work, cloneWork{dst: q, src: m, m: mc})
			return
		}
		mc.fill(cs, q, m)
	}
}

// nativeMapCopy copies maps of common shallow key and value kinds with
// compiled Go code (named types with these underlying kinds share the map
// layout), or returns nil.
func nativeMapCopy(t reflect.Type) func(src unsafe.Pointer) unsafe.Pointer {
	k, v := t.Key().Kind(), t.Elem().Kind()
	switch {
	case k == reflect.String && v == reflect.String:
		return copyMap[string, string]
	case k == reflect.String && (v == reflect.Int || v == reflect.Int64):
		return copyMap[string, int64]
	case k == reflect.String && v == reflect.Float64:
		return copyMap[string, float64]
	case k == reflect.String && v == reflect.Bool:
		return copyMap[string, bool]
	case (k == reflect.Int || k == reflect.Int64) && v == reflect.String:
		return copyMap[int64, string]
	case (k == reflect.Int || k == reflect.Int64) && (v == reflect.Int || v == reflect.Int64):
		return copyMap[int64, int64]
	}
	return nil
}

func copyMap[K comparable, V any](src unsafe.Pointer) unsafe.Pointer {
	m := *(*map[K]V)(src)
	n := make(map[K]V, len(m))
	for k, v := range m {
		n[k] = v
	}
	return *(*unsafe.Pointer)(unsafe.Pointer(&n))
}
