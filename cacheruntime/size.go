package cacheruntime

import (
	"reflect"
	"unsafe"
)

// sizeOf estimates the memory held by the results tuple at p: the tuple
// itself plus everything reachable from it that it references (each object
// counted once). Long slices of non-trivial elements are sampled, so the
// cost stays bounded.
func (c *cache) sizeOf(p unsafe.Pointer) int64 {
	s := sizer{seen: map[refKey]bool{}}
	return int64(c.resT.Size()) + s.refs(reflect.NewAt(c.resT, p).Elem())
}

type sizer struct {
	seen  map[refKey]bool
	steps int
}

const sizeSteps = 1 << 14 // values visited before sampling takes over

// refs returns the bytes referenced by v, not counting v's own memory.
func (s *sizer) refs(v reflect.Value) int64 {
	s.steps++
	t := v.Type()
	if infoOf(t).pointerFree {
		return 0
	}
	switch t.Kind() {
	case reflect.String:
		return int64(v.Len())
	case reflect.Pointer:
		if v.IsNil() || s.mark(v) {
			return 0
		}
		e := v.Elem()
		return int64(e.Type().Size()) + s.refs(e)
	case reflect.Interface:
		if v.IsNil() {
			return 0
		}
		e := v.Elem()
		n := s.refs(e)
		if !infoOf(e.Type()).directIface {
			n += int64(e.Type().Size())
		}
		return n
	case reflect.Slice:
		if v.IsNil() || s.mark(v) {
			return 0
		}
		n := int64(v.Cap()) * int64(t.Elem().Size())
		return n + s.elems(v)
	case reflect.Array:
		return s.elems(v)
	case reflect.Struct:
		var n int64
		for i := range v.NumField() {
			n += s.refs(v.Field(i))
		}
		return n
	case reflect.Map:
		if v.IsNil() || s.mark(v) {
			return 0
		}
		n := int64(v.Len()) * int64(t.Key().Size()+t.Elem().Size()+8)
		it := v.MapRange()
		i := 0
		var sampled int64
		for it.Next() {
			if s.steps > sizeSteps && i >= 16 {
				return n + sampled*int64(v.Len())/int64(i)
			}
			sampled += s.refs(it.Key()) + s.refs(it.Value())
			i++
		}
		return n + sampled
	}
	return 0
}

func (s *sizer) elems(v reflect.Value) int64 {
	if infoOf(v.Type().Elem()).pointerFree {
		return 0
	}
	var n int64
	l := v.Len()
	for i := range l {
		if s.steps > sizeSteps && i >= 16 {
			return n * int64(l) / int64(i)
		}
		n += s.refs(v.Index(i))
	}
	return n
}

func (s *sizer) mark(v reflect.Value) bool {
	k := refKey{v.UnsafePointer(), v.Type()}
	if s.seen[k] {
		return true
	}
	s.seen[k] = true
	return false
}
