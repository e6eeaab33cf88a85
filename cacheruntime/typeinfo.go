package cacheruntime

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"unsafe"
)

// typeInfo records static properties of a type that decide how it is
// hashed, compared, fingerprinted and cloned. It is a pure function of the
// type, so it is computed once per type and shared.
type typeInfo struct {
	t reflect.Type

	// pointerFree: the type's memory holds no pointers at all (memmove is a
	// complete copy). Floats and padding are allowed.
	pointerFree bool
	// plainKey: equal values have equal bytes and vice versa, so the
	// memory can be hashed as bytes for keys (no floats, padding, pointers).
	plainKey bool
	// plainFP: the memory can be hashed as bytes for mutation fingerprints
	// (no padding, no pointers; floats are compared bit by bit).
	plainFP bool
	// flat: comparable with == and == means structurally equal (no
	// pointers, interfaces, floats, channels); strings are allowed.
	flat bool
	// immutable: a copy of a value cannot be changed through the original
	// (no pointers, slices, maps, interfaces or unsafe pointers reachable).
	immutable bool
	// mayCycle: a value of the type may reach itself (recursive types,
	// interfaces).
	mayCycle bool
	// hasUnhashable: the type statically contains a func, chan or
	// unsafe.Pointer somewhere (ignoring interfaces and HashFuncs).
	hasUnhashable bool
	// directIface: the type is stored directly in an interface's data word.
	directIface bool
	// id is the type's identity in hashes: a hash of its canonical name, so
	// it is the same in every process and build (see typeName).
	id uint64
}

var (
	typeInfos   sync.Map // reflect.Type → *typeInfo
	contextType = reflect.TypeFor[context.Context]()
	errorType   = reflect.TypeFor[error]()
)

const ptrSize = unsafe.Sizeof(uintptr(0))

// infoOf returns the cached typeInfo for t.
func infoOf(t reflect.Type) *typeInfo {
	if v, ok := typeInfos.Load(t); ok {
		return v.(*typeInfo)
	}
	ti := computeInfo(t)
	v, _ := typeInfos.LoadOrStore(t, ti)
	return v.(*typeInfo)
}

// isContextType reports whether values of t are contexts that are left out
// of cache keys: context.Context itself or an interface type that includes
// its methods. A concrete type that implements context.Context (a struct
// embedding one, say) is data and is hashed.
func isContextType(t reflect.Type) bool {
	return t.Kind() == reflect.Interface && t.Implements(contextType)
}

func computeInfo(t reflect.Type) *typeInfo {
	ti := &typeInfo{t: t}
	ti.pointerFree = pointerFree(t)
	ti.plainKey = plain(t, false)
	ti.plainFP = plain(t, true)
	ti.flat = flat(t)
	ti.immutable = immutable(t, map[reflect.Type]bool{})
	ti.mayCycle = mayCycle(t)
	ti.hasUnhashable = hasUnhashable(t, map[reflect.Type]bool{})
	ti.directIface = directIface(t)
	ti.id = stringHash(typeName(t))
	return ti
}

func pointerFree(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return true
	case reflect.Array:
		return t.Len() == 0 || pointerFree(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if !pointerFree(t.Field(i).Type) {
				return false
			}
		}
		return true
	}
	return false
}

// plain reports whether the bytes of a value are a faithful hash input.
func plain(t reflect.Type, floatsOK bool) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return true
	case reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return floatsOK
	case reflect.Array:
		return t.Len() == 0 || plain(t.Elem(), floatsOK)
	case reflect.Struct:
		var off uintptr
		for i := range t.NumField() {
			f := t.Field(i)
			if f.Name == "_" || f.Offset != off || !plain(f.Type, floatsOK) {
				return false
			}
			off += f.Type.Size()
		}
		return off == t.Size()
	}
	return false
}

func flat(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.String:
		return true
	case reflect.Array:
		return flat(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			if f.Name == "_" || !flat(f.Type) {
				return false
			}
		}
		return true
	}
	return false
}

func immutable(t reflect.Type, seen map[reflect.Type]bool) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface, reflect.UnsafePointer:
		return false
	case reflect.Array:
		return immutable(t.Elem(), seen)
	case reflect.Struct:
		if seen[t] {
			return true
		}
		seen[t] = true
		for i := range t.NumField() {
			if !immutable(t.Field(i).Type, seen) {
				return false
			}
		}
	}
	return true
}

func hasUnhashable(t reflect.Type, seen map[reflect.Type]bool) bool {
	if seen[t] {
		return false
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Func, reflect.Chan, reflect.UnsafePointer:
		return true
	case reflect.Interface:
		return false
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return hasUnhashable(t.Elem(), seen)
	case reflect.Map:
		return hasUnhashable(t.Key(), seen) || hasUnhashable(t.Elem(), seen)
	case reflect.Struct:
		for i := range t.NumField() {
			if hasUnhashable(t.Field(i).Type, seen) {
				return true
			}
		}
	}
	return false
}

// mayCycle reports whether a value of t can reach itself through
// references: true for recursive types and for anything that holds an
// interface (whose dynamic value is unknown).
func mayCycle(t reflect.Type) bool {
	state := map[reflect.Type]int{} // 1 = on stack, 2 = done
	var visit func(t reflect.Type) bool
	visit = func(t reflect.Type) bool {
		switch state[t] {
		case 1:
			return true
		case 2:
			return false
		}
		state[t] = 1
		defer func() { state[t] = 2 }()
		switch t.Kind() {
		case reflect.Interface:
			return true
		case reflect.Pointer, reflect.Slice, reflect.Array:
			return visit(t.Elem())
		case reflect.Map:
			return visit(t.Key()) || visit(t.Elem())
		case reflect.Struct:
			for i := range t.NumField() {
				if visit(t.Field(i).Type) {
					return true
				}
			}
		}
		return false
	}
	return visit(t)
}

// directIface mirrors the compiler's rule for types stored directly in an
// interface's data word rather than behind a pointer.
func directIface(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.Chan, reflect.Map, reflect.Func, reflect.UnsafePointer:
		return true
	case reflect.Array:
		return t.Len() == 1 && directIface(t.Elem())
	case reflect.Struct:
		return t.NumField() == 1 && directIface(t.Field(0).Type)
	}
	return false
}

// eface is the layout of every interface value: a type (or itab) word and a
// data word. The data word holds the value itself for direct types and a
// pointer to it otherwise.
type eface struct {
	tab  unsafe.Pointer
	data unsafe.Pointer
}

// ifaceData returns a pointer to the dynamic value held by the interface at
// p, its dynamic type, and the type word (a process-unique identity of the
// dynamic type for empty interfaces, of the itab otherwise). t is the
// interface's static type. ok is false for a nil interface.
func ifaceData(p unsafe.Pointer, t reflect.Type) (data unsafe.Pointer, dyn reflect.Type, ok bool) {
	e := (*eface)(p)
	if e.tab == nil {
		return nil, nil, false
	}
	if t.NumMethod() == 0 {
		dyn = reflect.TypeOf(*(*any)(p))
	} else {
		dyn = reflect.NewAt(t, p).Elem().Elem().Type()
	}
	if infoOf(dyn).directIface {
		return unsafe.Pointer(&e.data), dyn, true
	}
	return e.data, dyn, true
}

// typePtr returns the address of t's runtime type descriptor: an identity
// within this process, used to tell objects of different types apart at one
// address during a walk.
func typePtr(t reflect.Type) uintptr {
	return uintptr((*eface)(unsafe.Pointer(&t)).data)
}

// typeName spells t so that it names the same type in every build: named
// types by import path and name, other types by their structure (field
// names, tags and, for unexported fields, the package). Unlike t.String(),
// two packages with the same name do not collide.
func typeName(t reflect.Type) string {
	var b strings.Builder
	writeTypeName(&b, t)
	return b.String()
}

func writeTypeName(b *strings.Builder, t reflect.Type) {
	if t.Name() != "" {
		if pkg := t.PkgPath(); pkg != "" {
			b.WriteString(pkg)
			b.WriteByte('.')
		}
		b.WriteString(t.Name())
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		b.WriteByte('*')
		writeTypeName(b, t.Elem())
	case reflect.Slice:
		b.WriteString("[]")
		writeTypeName(b, t.Elem())
	case reflect.Array:
		fmt.Fprintf(b, "[%d]", t.Len())
		writeTypeName(b, t.Elem())
	case reflect.Map:
		b.WriteString("map[")
		writeTypeName(b, t.Key())
		b.WriteByte(']')
		writeTypeName(b, t.Elem())
	case reflect.Chan:
		b.WriteString(t.ChanDir().String())
		b.WriteByte(' ')
		writeTypeName(b, t.Elem())
	case reflect.Func:
		b.WriteString("func(")
		for i := range t.NumIn() {
			if i > 0 {
				b.WriteByte(',')
			}
			if t.IsVariadic() && i == t.NumIn()-1 {
				b.WriteString("...")
			}
			writeTypeName(b, t.In(i))
		}
		b.WriteString(")(")
		for i := range t.NumOut() {
			if i > 0 {
				b.WriteByte(',')
			}
			writeTypeName(b, t.Out(i))
		}
		b.WriteByte(')')
	case reflect.Struct:
		b.WriteString("struct{")
		for i := range t.NumField() {
			f := t.Field(i)
			if i > 0 {
				b.WriteByte(';')
			}
			if f.PkgPath != "" {
				b.WriteString(f.PkgPath)
				b.WriteByte('.')
			}
			b.WriteString(f.Name)
			if f.Anonymous {
				b.WriteString(" embedded")
			}
			b.WriteByte(' ')
			writeTypeName(b, f.Type)
			if f.Tag != "" {
				fmt.Fprintf(b, " %q", f.Tag)
			}
		}
		b.WriteByte('}')
	case reflect.Interface:
		b.WriteString("interface{")
		for i := range t.NumMethod() {
			m := t.Method(i)
			if i > 0 {
				b.WriteByte(';')
			}
			if m.PkgPath != "" {
				b.WriteString(m.PkgPath)
				b.WriteByte('.')
			}
			b.WriteString(m.Name)
			writeTypeName(b, m.Type)
		}
		b.WriteByte('}')
	default:
		b.WriteString(t.String())
	}
}

// stringHash is a fixed (seedless) 64-bit hash of s: FNV-1a, finished with
// a multiply-mix so that similar names spread.
func stringHash(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return mix(h, k3)
}
