package cacheruntime

import (
	"reflect"
	"sync"
	"unsafe"

	"github.com/cachelens/cachelens/cacheruntime/internal/noescape"
)

// Maps hash independently of iteration order: every entry is hashed with
// fresh lanes and the entry hashes are summed.

func (s *hashSet) buildMap(t reflect.Type, c *compiled, building map[reflect.Type]*compiled) hashFn {
	kc := s.compile(t.Key(), building, false)
	vc := s.compile(t.Elem(), building, false)
	if c.info.mayCycle {
		// The map is an object of the walk (walk.go), hashed entry by
		// entry without recursion.
		c.kc, c.vc = kc, vc
		tp := typePtr(t)
		return func(h *hstate, p unsafe.Pointer) {
			m := *(*unsafe.Pointer)(p)
			if m == nil {
				h.word(0)
				return
			}
			h.word(1)
			h.child(kid{p: m, c: c, key: refKeyOf(m, tp, 0), kind: kidMap})
		}
	}
	entries := s.nativeMap(t, kc, vc)
	if entries == nil {
		entries = s.reflectMap(t, kc, vc)
	}
	return func(h *hstate, p unsafe.Pointer) {
		if *(*unsafe.Pointer)(p) == nil {
			h.word(0)
			return
		}
		entries(h, p)
	}
}

// reflectMap walks any map type with a reflect.MapIter, copying each key
// and value into pooled scratch space.
func (s *hashSet) reflectMap(t reflect.Type, kc, vc *compiled) hashFn {
	type scratch struct {
		k, v reflect.Value
		it   reflect.MapIter
	}
	pool := sync.Pool{New: func() any {
		return &scratch{k: reflect.New(t.Key()).Elem(), v: reflect.New(t.Elem()).Elem()}
	}}
	return func(h *hstate, p unsafe.Pointer) {
		mv := reflect.NewAt(t, p).Elem()
		sc := pool.Get().(*scratch)
		sc.it.Reset(mv)
		kp, vp := sc.k.Addr().UnsafePointer(), sc.v.Addr().UnsafePointer()
		var sa, sb uint64
		n := 0
		for sc.it.Next() {
			sc.k.SetIterKey(&sc.it)
			sc.v.SetIterValue(&sc.it)
			a0, b0 := h.a, h.b
			h.a, h.b = k1, k2
			kc.fn(h, kp)
			vc.fn(h, vp)
			sa += h.a
			sb += h.b
			h.a, h.b = a0, b0
			n++
		}
		sc.it.Reset(reflect.Value{})
		sc.k.SetZero()
		sc.v.SetZero()
		pool.Put(sc)
		h.word(uint64(n) + 1)
		h.word(sa)
		if h.two {
			h.b = mix(h.b^sb, k4)
		}
	}
}

// nativeMap returns an entry walker that ranges over the map with compiled
// Go code for common key and value kinds (any named types with these
// underlying kinds share the map layout), or nil.
func (s *hashSet) nativeMap(t reflect.Type, kc, vc *compiled) hashFn {
	k, v := t.Key(), t.Elem()
	if v.Kind() == reflect.Interface && v.NumMethod() > 0 {
		return nil
	}
	if s.covered(k) || s.covered(v) {
		return nil
	}
	switch k.Kind() {
	case reflect.String:
		return nativeByVal[string](v, kc, vc)
	case reflect.Int, reflect.Int64:
		return nativeByVal[int64](v, kc, vc)
	case reflect.Uint, reflect.Uint64, reflect.Uintptr:
		return nativeByVal[uint64](v, kc, vc)
	case reflect.Int32:
		return nativeByVal[int32](v, kc, vc)
	case reflect.Uint32:
		return nativeByVal[uint32](v, kc, vc)
	}
	return nil
}

func nativeByVal[K comparable](v reflect.Type, kc, vc *compiled) hashFn {
	switch v.Kind() {
	case reflect.String:
		return nativeEntries[K, string](kc, vc)
	case reflect.Int, reflect.Int64:
		return nativeEntries[K, int64](kc, vc)
	case reflect.Uint, reflect.Uint64:
		return nativeEntries[K, uint64](kc, vc)
	case reflect.Bool:
		return nativeEntries[K, bool](kc, vc)
	case reflect.Float64:
		return nativeEntries[K, float64](kc, vc)
	case reflect.Int32:
		return nativeEntries[K, int32](kc, vc)
	case reflect.Interface:
		return nativeEntries[K, any](kc, vc)
	case reflect.Pointer, reflect.Map:
		return nativeEntries[K, unsafe.Pointer](kc, vc)
	case reflect.Slice:
		return nativeEntries[K, sliceHeader](kc, vc)
	}
	return nil
}

func nativeEntries[K comparable, V any](kc, vc *compiled) hashFn {
	// Strings hashed by content are hashed inline rather than through the
	// compiled function (the common map[string]string case).
	kstr := kc.info.t.Kind() == reflect.String && kc.contentString
	vstr := vc.info.t.Kind() == reflect.String && vc.contentString
	return func(h *hstate, p unsafe.Pointer) {
		m := *(*map[K]V)(p)
		var sa, sb uint64
		for k, v := range m {
			sa0, sb0 := h.a, h.b
			h.a, h.b = k1, k2
			if kstr {
				h.str(*(*string)(unsafe.Pointer(&k)))
			} else {
				kc.fn(h, noescape.Pointer(unsafe.Pointer(&k)))
			}
			if vstr {
				h.str(*(*string)(unsafe.Pointer(&v)))
			} else {
				vc.fn(h, noescape.Pointer(unsafe.Pointer(&v)))
			}
			sa += h.a
			sb += h.b
			h.a, h.b = sa0, sb0
		}
		h.word(uint64(len(m)) + 1)
		h.word(sa)
		if h.two {
			h.b = mix(h.b^sb, k4)
		}
	}
}
