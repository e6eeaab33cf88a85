package cacheruntime

import (
	"fmt"
	"reflect"
	"unsafe"
)

// Func wraps fn, a function of any signature, in a cache and returns a
// function of the same type: calls with equal arguments return the stored
// results instead of calling fn again (Streamlit's @st.cache).
//
// Arguments are hashed structurally: pointers are followed, maps hash
// independently of iteration order, slices and strings by content,
// interfaces by dynamic type and value, unexported fields count, cycles
// terminate, floats hash by value. context.Context arguments are left out
// of the key. An argument that cannot be hashed (a func, chan or
// unsafe.Pointer, or anything holding one that no HashFunc covers) makes
// the call run uncached and records a hash error; it never fails the call.
//
// Results are fingerprinted when stored and checked on every hit: if a
// caller changed a cached result, the entry is recomputed and the mutation
// recorded with the path of the changed part (see AllowOutputMutation).
// A call whose last result is a non-nil error is not cached, nor is a call
// that panics (the panic propagates unchanged). Concurrent calls with equal
// arguments compute once.
//
// Func works through reflection; the typed variants (Func1, Func2E, ...)
// do the same without it and are several times faster on a hit.
//
// Func panics if fn is not a non-nil function.
func Func[F any](fn F, opts ...Option) F {
	v := reflect.ValueOf(fn)
	if !v.IsValid() || v.Kind() != reflect.Func || v.IsNil() {
		panic(fmt.Sprintf("cacheruntime.Func: want a non-nil function, got %T", fn))
	}
	t := v.Type()
	in := make([]reflect.Type, t.NumIn())
	for i := range in {
		in[i] = t.In(i)
	}
	out := make([]reflect.Type, t.NumOut())
	for i := range out {
		out[i] = t.Out(i)
	}
	argsT, resT := tupleType(in), tupleType(out)
	errIdx := -1
	if n := len(out); n > 0 && out[n-1] == errorType {
		errIdx = n - 1
	}
	variadic := t.IsVariadic()
	c := newCache(v, argsT, resT, variadic, opts, 1)
	w := reflect.MakeFunc(t, func(args []reflect.Value) []reflect.Value {
		st := c.sites.get(c.sites.reflectCaller())
		tuple := reflect.New(argsT).Elem()
		for i, a := range args {
			tuple.Field(i).Set(a)
		}
		resp := c.callAt(st, tuple.Addr().UnsafePointer(), func(res unsafe.Pointer) bool {
			var outs []reflect.Value
			if variadic {
				outs = v.CallSlice(args)
			} else {
				outs = v.Call(args)
			}
			rv := reflect.NewAt(resT, res).Elem()
			for i, o := range outs {
				rv.Field(i).Set(o)
			}
			return errIdx < 0 || outs[errIdx].IsNil()
		})
		rv := reflect.NewAt(resT, resp).Elem()
		results := make([]reflect.Value, len(out))
		for i := range results {
			results[i] = rv.Field(i)
		}
		return results
	})
	return w.Interface().(F)
}

// tupleType lays out a list of types as a struct with fields P0, P1, ...
func tupleType(ts []reflect.Type) reflect.Type {
	fields := make([]reflect.StructField, len(ts))
	for i, t := range ts {
		fields[i] = reflect.StructField{Name: fmt.Sprintf("P%d", i), Type: t}
	}
	return reflect.StructOf(fields)
}
