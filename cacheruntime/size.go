package cacheruntime

import (
	"reflect"
	"unsafe"
)

// sizeOf estimates the memory held by the results tuple at p: the tuple
// itself plus everything reachable from it that it references (each object
// counted once). It walks with an explicit stack and samples once it has
// visited sizeSteps values, so its cost stays bounded whatever the result.
func (c *cache) sizeOf(p unsafe.Pointer) int64 {
	if c.resStrings != nil {
		n := int64(c.resT.Size())
		for _, off := range c.resStrings {
			n += int64(len(*(*string)(unsafe.Add(p, off))))
		}
		return n
	}
	return int64(c.resT.Size()) + sizeRefs(c.resT, p)
}

// stringOffsets returns where the strings are in a value of type t made of
// plain memory and strings only (structs and arrays of them), if there are
// at most 64: such a value's size is its own plus its strings' lengths,
// with no walk. It returns nil, false for any other type.
func stringOffsets(t reflect.Type) ([]uintptr, bool) {
	offs := []uintptr{}
	var walk func(t reflect.Type, base uintptr) bool
	walk = func(t reflect.Type, base uintptr) bool {
		if infoOf(t).pointerFree {
			return true
		}
		switch t.Kind() {
		case reflect.String:
			offs = append(offs, base)
			return len(offs) <= 64
		case reflect.Struct:
			for i := range t.NumField() {
				f := t.Field(i)
				if !walk(f.Type, base+f.Offset) {
					return false
				}
			}
			return true
		case reflect.Array:
			for i := range t.Len() {
				if !walk(t.Elem(), base+uintptr(i)*t.Elem().Size()) {
					return false
				}
			}
			return true
		}
		return false
	}
	if !walk(t, 0) {
		return nil, false
	}
	return offs, true
}

const sizeSteps = 1 << 14 // values visited before sampling takes over

// sizeRefs returns the bytes referenced by the value of type t at p, not
// counting the value's own memory.
func sizeRefs(t reflect.Type, p unsafe.Pointer) int64 {
	type item struct {
		p     unsafe.Pointer
		t     reflect.Type
		scale int64 // how many values this sampled one stands for
	}
	seen := map[refKey]bool{}
	mark := func(k refKey) bool {
		if seen[k] {
			return true
		}
		seen[k] = true
		return false
	}
	stack := []item{{p, t, 1}}
	var total int64
	steps := 0
	// elems queues n elements of type et at base: all of them while the
	// budget lasts, else the first 16, scaled.
	elems := func(base unsafe.Pointer, et reflect.Type, n int, scale int64) {
		if infoOf(et).pointerFree || n == 0 {
			return
		}
		take, s := sampled(n, steps, scale)
		for i := range take {
			stack = append(stack, item{unsafe.Add(base, uintptr(i)*et.Size()), et, s})
		}
	}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		steps++
		ti := infoOf(it.t)
		if ti.pointerFree {
			continue
		}
		switch it.t.Kind() {
		case reflect.String:
			total += it.scale * int64(len(*(*string)(it.p)))
		case reflect.Pointer:
			q := *(*unsafe.Pointer)(it.p)
			if q == nil || mark(refKeyOf(q, typePtr(it.t.Elem()), 0)) {
				continue
			}
			total += it.scale * int64(it.t.Elem().Size())
			stack = append(stack, item{q, it.t.Elem(), it.scale})
		case reflect.Interface:
			data, dyn, ok := ifaceData(it.p, it.t)
			if !ok {
				continue
			}
			if !infoOf(dyn).directIface {
				total += it.scale * int64(dyn.Size())
			}
			stack = append(stack, item{data, dyn, it.scale})
		case reflect.Slice:
			sh := (*sliceHeader)(it.p)
			if sh.data == nil || mark(refKeyOf(sh.data, typePtr(it.t), sh.cap)) {
				continue
			}
			total += it.scale * int64(sh.cap) * int64(it.t.Elem().Size())
			elems(sh.data, it.t.Elem(), sh.len, it.scale)
		case reflect.Array:
			elems(it.p, it.t.Elem(), it.t.Len(), it.scale)
		case reflect.Struct:
			for i := range it.t.NumField() {
				f := it.t.Field(i)
				if !infoOf(f.Type).pointerFree {
					stack = append(stack, item{unsafe.Add(it.p, f.Offset), f.Type, it.scale})
				}
			}
		case reflect.Map:
			m := *(*unsafe.Pointer)(it.p)
			if m == nil || mark(refKeyOf(m, typePtr(it.t), 0)) {
				continue
			}
			mv := reflect.NewAt(it.t, it.p).Elem()
			n := mv.Len()
			kt, vt := it.t.Key(), it.t.Elem()
			total += it.scale * int64(n) * int64(kt.Size()+vt.Size()+8)
			if infoOf(kt).pointerFree && infoOf(vt).pointerFree {
				continue
			}
			take, s := sampled(n, steps, it.scale)
			iter := mv.MapRange()
			for i := 0; i < take && iter.Next(); i++ {
				k := reflect.New(kt)
				k.Elem().SetIterKey(iter)
				v := reflect.New(vt)
				v.Elem().SetIterValue(iter)
				stack = append(stack, item{k.UnsafePointer(), kt, s}, item{v.UnsafePointer(), vt, s})
			}
		}
	}
	return total
}

// sampled returns how many of n values to visit after steps, and the scale
// each visited one then stands for: all of them while the budget lasts,
// else what is left of the budget (at least 16).
func sampled(n, steps int, scale int64) (int, int64) {
	take := n
	if steps+n > sizeSteps {
		take = min(n, max(16, sizeSteps-steps))
	}
	return take, scale * int64(n) / int64(take)
}
