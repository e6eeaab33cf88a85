package cacheruntime

import (
	"reflect"
	"sync"
	"unsafe"
)

// Clone returns a deep copy of v: pointers, slices, maps and interfaces are
// copied recursively, unexported fields included, so the copy shares no
// mutable memory with v. Cycles terminate and aliasing is preserved: two
// pointers to one object (or two slices with the same start, or one map
// reached twice) point to one object in the copy. Strings and boxed
// immutable values are shared (they cannot change); funcs, chans and
// unsafe.Pointers are copied by reference.
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
	csp := (*cstate)(noescape(unsafe.Pointer(&cs)))
	c.fn(csp, noescape(unsafe.Pointer(&out)), noescape(unsafe.Pointer(&v)))
	return out
}

// cloneFn deep-copies the value at src into dst (both of the same type).
type cloneFn func(cs *cstate, dst, src unsafe.Pointer)

// cstate remembers the objects already copied, for cycles and aliasing.
type cstate struct {
	small [8]struct {
		k refKey
		v unsafe.Pointer
	}
	n    int
	more map[refKey]unsafe.Pointer
}

func (cs *cstate) lookup(k refKey) (unsafe.Pointer, bool) {
	for i := range cs.n {
		if cs.small[i].k == k {
			return cs.small[i].v, true
		}
	}
	if cs.more != nil {
		v, ok := cs.more[k]
		return v, ok
	}
	return nil, false
}

func (cs *cstate) store(k refKey, v unsafe.Pointer) {
	if cs.n < len(cs.small) {
		cs.small[cs.n].k, cs.small[cs.n].v = k, v
		cs.n++
		return
	}
	if cs.more == nil {
		cs.more = map[refKey]unsafe.Pointer{}
	}
	cs.more[k] = v
}

type cloner struct {
	fn      cloneFn
	shallow bool // a plain copy is a deep copy
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
	c := &cloner{shallow: shallowType(t)}
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
	if shallow && t.Kind() != reflect.Struct && t.Kind() != reflect.Array {
		return typedCopy(t)
	}
	switch t.Kind() {
	case reflect.Struct:
		type fieldClone struct {
			off uintptr
			fn  cloneFn
		}
		var fields []fieldClone
		// Runs of pointer-free fields are copied as one block.
		runStart, runEnd := uintptr(0), uintptr(0)
		flush := func() {
			if runEnd > runStart {
				off, n := runStart, runEnd-runStart
				fields = append(fields, fieldClone{off, func(cs *cstate, dst, src unsafe.Pointer) { memcopy(dst, src, n) }})
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
	case reflect.Array:
		if shallow {
			return typedCopy(t)
		}
		et := t.Elem()
		ec := s.compile(et, building)
		n, size := t.Len(), et.Size()
		return func(cs *cstate, dst, src unsafe.Pointer) {
			for i := range n {
				ec.fn(cs, unsafe.Add(dst, uintptr(i)*size), unsafe.Add(src, uintptr(i)*size))
			}
		}
	case reflect.Pointer:
		et := t.Elem()
		ec := s.compile(et, building)
		return func(cs *cstate, dst, src unsafe.Pointer) {
			p := *(*unsafe.Pointer)(src)
			if p == nil {
				*(*unsafe.Pointer)(dst) = nil
				return
			}
			k := refKey{p, et}
			if q, ok := cs.lookup(k); ok {
				*(*unsafe.Pointer)(dst) = q
				return
			}
			q := reflect.New(et).UnsafePointer()
			cs.store(k, q)
			ec.fn(cs, q, p)
			*(*unsafe.Pointer)(dst) = q
		}
	case reflect.Slice:
		et := t.Elem()
		ec := s.compile(et, building)
		size := et.Size()
		pf := infoOf(et).pointerFree
		return func(cs *cstate, dst, src unsafe.Pointer) {
			sh := (*sliceHeader)(src)
			if sh.data == nil {
				*(*sliceHeader)(dst) = sliceHeader{}
				return
			}
			k := refKey{sh.data, t}
			if q, ok := cs.lookup(k); ok {
				*(*sliceHeader)(dst) = sliceHeader{q, sh.len, sh.cap}
				return
			}
			if pf {
				// Appending to a nil slice allocates without zeroing
				// memory that is about to be overwritten.
				src := reflect.NewAt(t, src).Elem().Slice3(0, sh.cap, sh.cap)
				q := reflect.AppendSlice(reflect.Zero(t), src).UnsafePointer()
				cs.store(k, q)
				*(*sliceHeader)(dst) = sliceHeader{q, sh.len, sh.cap}
				return
			}
			nv := reflect.MakeSlice(t, sh.cap, sh.cap)
			q := nv.UnsafePointer()
			cs.store(k, q)
			switch {
			case ec.shallow:
				reflect.Copy(nv, reflect.NewAt(t, src).Elem().Slice3(0, sh.cap, sh.cap))
			default:
				for i := range sh.cap {
					ec.fn(cs, unsafe.Add(q, uintptr(i)*size), unsafe.Add(sh.data, uintptr(i)*size))
				}
			}
			*(*sliceHeader)(dst) = sliceHeader{q, sh.len, sh.cap}
		}
	case reflect.Map:
		return s.buildMapClone(t, building)
	case reflect.Interface:
		return func(cs *cstate, dst, src unsafe.Pointer) {
			e := (*eface)(src)
			if e.tab == nil {
				*(*eface)(dst) = eface{}
				return
			}
			_, dyn, _ := ifaceData(src, t)
			dc := cloners.of(dyn)
			if dc.shallow {
				// Values boxed in an interface cannot be changed in
				// place; an immutable one can be shared.
				*(*eface)(dst) = *e
				return
			}
			if infoOf(dyn).directIface {
				var w unsafe.Pointer
				dc.fn(cs, noescape(unsafe.Pointer(&w)), noescape(unsafe.Pointer(&e.data)))
				*(*eface)(dst) = eface{e.tab, w}
				return
			}
			q := reflect.New(dyn).UnsafePointer()
			dc.fn(cs, q, e.data)
			*(*eface)(dst) = eface{e.tab, q}
		}
	}
	return typedCopy(t)
}

func typedCopyOr(c *cloner, t reflect.Type) cloneFn {
	if c.shallow {
		return typedCopy(t)
	}
	return func(cs *cstate, dst, src unsafe.Pointer) { c.fn(cs, dst, src) }
}

func (s *clonerSet) buildMapClone(t reflect.Type, building map[reflect.Type]*cloner) cloneFn {
	kc, vc := s.compile(t.Key(), building), s.compile(t.Elem(), building)
	var entries func(cs *cstate, src unsafe.Pointer) unsafe.Pointer
	if kc.shallow && vc.shallow {
		entries = nativeMapCopy(t)
	}
	if entries == nil {
		kt, vt := t.Key(), t.Elem()
		entries = func(cs *cstate, src unsafe.Pointer) unsafe.Pointer {
			sv := reflect.NewAt(t, src).Elem()
			nv := reflect.MakeMapWithSize(t, sv.Len())
			k, v := reflect.New(kt).Elem(), reflect.New(vt).Elem()
			kp, vp := k.Addr().UnsafePointer(), v.Addr().UnsafePointer()
			it := sv.MapRange()
			for it.Next() {
				ck, cv := reflect.New(kt), reflect.New(vt)
				k.SetIterKey(it)
				v.SetIterValue(it)
				kc.fn(cs, ck.UnsafePointer(), kp)
				vc.fn(cs, cv.UnsafePointer(), vp)
				nv.SetMapIndex(ck.Elem(), cv.Elem())
			}
			return nv.UnsafePointer()
		}
	}
	return func(cs *cstate, dst, src unsafe.Pointer) {
		m := *(*unsafe.Pointer)(src)
		if m == nil {
			*(*unsafe.Pointer)(dst) = nil
			return
		}
		k := refKey{m, t}
		if q, ok := cs.lookup(k); ok {
			*(*unsafe.Pointer)(dst) = q
			return
		}
		q := entries(cs, src)
		cs.store(k, q)
		*(*unsafe.Pointer)(dst) = q
	}
}

// nativeMapCopy copies maps of common shallow key and value kinds with
// compiled Go code (named types with these underlying kinds share the map
// layout), or returns nil.
func nativeMapCopy(t reflect.Type) func(cs *cstate, src unsafe.Pointer) unsafe.Pointer {
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

func copyMap[K comparable, V any](cs *cstate, src unsafe.Pointer) unsafe.Pointer {
	m := *(*map[K]V)(src)
	n := make(map[K]V, len(m))
	for k, v := range m {
		n[k] = v
	}
	return *(*unsafe.Pointer)(unsafe.Pointer(&n))
}
