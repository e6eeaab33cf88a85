package cacheruntime

import (
	"fmt"
	"reflect"
	"strings"
	"unicode"
	"unicode/utf8"
	"unsafe"
)

// findFailure searches the value of type t at p for the part that made a
// hash fail and returns its path, the types along that path (outer first),
// and whether it was found. For a panicking HashFunc the target is the
// covered type itself. The search is depth first with an explicit stack and
// a bound on the parts it visits, so no value can make it overflow the
// stack or run without end.
func findFailure(set *hashSet, t reflect.Type, p unsafe.Pointer, f *hashFailure) (path string, types []reflect.Type, found bool) {
	if f == nil || f.t == nil {
		return "", nil, false
	}
	type item struct {
		p     unsafe.Pointer
		t     reflect.Type
		depth int // the number of path entries above this one
		seg   string
	}
	var (
		stack = []item{{p: p, t: t}}
		segs  []string
		tys   []reflect.Type
		seen  = map[refKey]bool{}
	)
	mark := func(k refKey) bool {
		if seen[k] {
			return true
		}
		seen[k] = true
		return false
	}
	const maxVisits = 1 << 20
	for visits := 0; len(stack) > 0 && visits < maxVisits; visits++ {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		segs, tys = append(segs[:it.depth], it.seg), append(tys[:it.depth], it.t)
		_, covered := set.user[it.t]
		if it.t == f.t && (f.panicked != nil || !covered) {
			return strings.Join(segs, ""), tys, true
		}
		if covered {
			continue
		}
		d := it.depth + 1
		var kids []item
		switch it.t.Kind() {
		case reflect.Interface:
			if set.mode == modeKey && isContextType(it.t) {
				continue
			}
			if data, dyn, ok := ifaceData(it.p, it.t); ok {
				kids = append(kids, item{data, dyn, d, ""})
			}
		case reflect.Pointer:
			q := *(*unsafe.Pointer)(it.p)
			if q != nil && !mark(refKeyOf(q, typePtr(it.t.Elem()), 0)) {
				kids = append(kids, item{q, it.t.Elem(), d, ""})
			}
		case reflect.Struct:
			for i := range it.t.NumField() {
				fld := it.t.Field(i)
				if fld.Name == "_" || (set.mode == modeKey && isContextType(fld.Type)) {
					continue
				}
				kids = append(kids, item{unsafe.Add(it.p, fld.Offset), fld.Type, d, "." + fld.Name})
			}
		case reflect.Array:
			size := it.t.Elem().Size()
			for i := range it.t.Len() {
				kids = append(kids, item{unsafe.Add(it.p, uintptr(i)*size), it.t.Elem(), d, fmt.Sprintf("[%d]", i)})
			}
		case reflect.Slice:
			sh := (*sliceHeader)(it.p)
			if sh.data == nil || mark(refKeyOf(sh.data, typePtr(it.t), sh.len)) {
				continue
			}
			size := it.t.Elem().Size()
			for i := range sh.len {
				kids = append(kids, item{unsafe.Add(sh.data, uintptr(i)*size), it.t.Elem(), d, fmt.Sprintf("[%d]", i)})
			}
		case reflect.Map:
			m := *(*unsafe.Pointer)(it.p)
			if m == nil || mark(refKeyOf(m, typePtr(it.t), 0)) {
				continue
			}
			iter := reflect.NewAt(it.t, it.p).Elem().MapRange()
			for iter.Next() {
				k := reflect.New(it.t.Key())
				k.Elem().SetIterKey(iter)
				v := reflect.New(it.t.Elem())
				v.Elem().SetIterValue(iter)
				kids = append(kids, item{k.UnsafePointer(), it.t.Key(), d, "[key]"},
					item{v.UnsafePointer(), it.t.Elem(), d, mapKeyLabel(k.Elem())})
			}
		}
		for i := len(kids) - 1; i >= 0; i-- {
			stack = append(stack, kids[i])
		}
	}
	return "", nil, false
}

// suggestType picks the type a HashFunc should cover to fix a failure met
// along types (outer first): the first named type a program in package pkg
// can write (a pointer to one counts, as HashFunc[*sql.DB] is the natural
// fix for a *sql.DB argument), preferring concrete types to interfaces;
// else the failing type itself if it can be written. It returns nil when no
// type on the path can be named from pkg.
func suggestType(types []reflect.Type, pkg string) reflect.Type {
	var iface reflect.Type
	for _, t := range types {
		switch {
		case t.Kind() == reflect.Interface:
			if iface == nil && t.Name() != "" && writable(t, pkg) {
				iface = t
			}
		case t.Name() != "" && writable(t, pkg):
			return t
		case t.Kind() == reflect.Pointer && t.Elem().Name() != "" && writable(t, pkg):
			return t
		}
	}
	if iface != nil {
		return iface
	}
	if n := len(types); n > 0 && writable(types[n-1], pkg) {
		return types[n-1]
	}
	return nil
}

// writable reports whether code in package pkg can spell t: named types
// must be predeclared, exported from a package outside any internal
// directory, or declared in pkg; unnamed types must be made of writable
// parts.
func writable(t reflect.Type, pkg string) bool {
	return writableDepth(t, pkg, 0)
}

func writableDepth(t reflect.Type, pkg string, depth int) bool {
	if depth > 32 {
		return false
	}
	if t.Name() != "" {
		tp := t.PkgPath()
		if tp == "" || tp == pkg {
			return true
		}
		if !isExported(t.Name()) || strings.HasPrefix(tp, "internal/") || strings.Contains(tp, "/internal/") || strings.HasSuffix(tp, "/internal") || tp == "internal" {
			return false
		}
		return true
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Chan:
		return writableDepth(t.Elem(), pkg, depth+1)
	case reflect.Map:
		return writableDepth(t.Key(), pkg, depth+1) && writableDepth(t.Elem(), pkg, depth+1)
	case reflect.Func:
		for i := range t.NumIn() {
			if !writableDepth(t.In(i), pkg, depth+1) {
				return false
			}
		}
		for i := range t.NumOut() {
			if !writableDepth(t.Out(i), pkg, depth+1) {
				return false
			}
		}
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			if f.PkgPath != "" && f.PkgPath != pkg || !writableDepth(f.Type, pkg, depth+1) {
				return false
			}
		}
	case reflect.Interface:
		for i := range t.NumMethod() {
			m := t.Method(i)
			if m.PkgPath != "" && m.PkgPath != pkg || !writableDepth(m.Type, pkg, depth+1) {
				return false
			}
		}
	}
	return true
}

func isExported(name string) bool {
	r, _ := utf8.DecodeRuneInString(name)
	return unicode.IsUpper(r)
}

// funcPackage returns the import path of the package that declares the
// function with the qualified name fn ("example.com/m/pkg.F.func1" →
// "example.com/m/pkg").
func funcPackage(fn string) string {
	slash := strings.LastIndex(fn, "/")
	dot := strings.Index(fn[slash+1:], ".")
	if dot < 0 {
		return ""
	}
	return fn[:slash+1+dot]
}
