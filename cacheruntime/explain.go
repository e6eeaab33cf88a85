package cacheruntime

import (
	"fmt"
	"reflect"
	"strings"
)

// findFailure walks v in the order the key hasher does and returns the path
// to the first value of the failing type, the types along that path (outer
// first), and whether it was found. For a panicking HashFunc the target is
// the covered type itself.
func findFailure(set *hashSet, v reflect.Value, f *hashFailure) (path string, types []reflect.Type, found bool) {
	w := &finder{set: set, target: f.t, userTarget: f.panicked != nil, seen: map[refKey]bool{}}
	w.walk(v)
	if !w.found {
		return "", nil, false
	}
	return strings.Join(w.path, ""), w.types, true
}

type finder struct {
	set        *hashSet
	target     reflect.Type
	userTarget bool
	seen       map[refKey]bool
	path       []string
	types      []reflect.Type
	found      bool
}

func (w *finder) walk(v reflect.Value) {
	if w.found {
		return
	}
	t := v.Type()
	w.types = append(w.types, t)
	defer func() {
		if !w.found {
			w.types = w.types[:len(w.types)-1]
		}
	}()
	_, covered := w.set.user[t]
	if t == w.target && (w.userTarget || !covered) {
		w.found = true
		return
	}
	if covered {
		return
	}
	switch t.Kind() {
	case reflect.Interface:
		if isContextType(t) || v.IsNil() {
			return
		}
		w.walk(v.Elem())
	case reflect.Pointer:
		if v.IsNil() || w.mark(v) {
			return
		}
		w.walk(v.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			if f.Name == "_" || (f.Type.Kind() == reflect.Interface && isContextType(f.Type)) {
				continue
			}
			w.push("."+f.Name, func() { w.walk(v.Field(i)) })
			if w.found {
				return
			}
		}
	case reflect.Slice, reflect.Array:
		if t.Kind() == reflect.Slice && (v.IsNil() || w.mark(v)) {
			return
		}
		for i := range v.Len() {
			w.push(fmt.Sprintf("[%d]", i), func() { w.walk(v.Index(i)) })
			if w.found {
				return
			}
		}
	case reflect.Map:
		if v.IsNil() || w.mark(v) {
			return
		}
		it := v.MapRange()
		for it.Next() {
			k := it.Key()
			w.push("[key]", func() { w.walk(k) })
			if w.found {
				return
			}
			w.push(mapKeyLabel(k), func() { w.walk(it.Value()) })
			if w.found {
				return
			}
		}
	}
}

func (w *finder) push(seg string, f func()) {
	w.path = append(w.path, seg)
	f()
	if !w.found {
		w.path = w.path[:len(w.path)-1]
	}
}

func (w *finder) mark(v reflect.Value) bool {
	k := refKey{v.UnsafePointer(), v.Type()}
	if w.seen[k] {
		return true
	}
	w.seen[k] = true
	return false
}

// suggestType picks the type a HashFunc should cover to fix a failure: the
// first named type along the path (a pointer to a named type counts, as
// HashFunc[*sql.DB] is the natural fix for a *sql.DB argument).
func suggestType(types []reflect.Type) reflect.Type {
	for _, t := range types {
		if t.Name() != "" && t.Kind() != reflect.Interface {
			return t
		}
		if t.Kind() == reflect.Pointer && t.Elem().Name() != "" {
			return t
		}
	}
	if len(types) > 0 {
		return types[len(types)-1]
	}
	return nil
}
