package cacheruntime

import (
	"reflect"
	"unsafe"

	"github.com/cachelens/cachelens/cacheruntime/internal/noescape"
)

// The typed variants cache functions of common shapes without reflection:
// a hit on Func2 with (int, string) arguments costs a few tens of
// nanoseconds and allocates nothing. They behave exactly like Func; the
// E forms cache functions whose last result is an error (which is not
// cached when non-nil).

type (
	args0           struct{}
	args1[A any]    struct{ P0 A }
	args2[A, B any] struct {
		P0 A
		P1 B
	}
	args3[A, B, C any] struct {
		P0 A
		P1 B
		P2 C
	}
	res1[R any] struct{ P0 R }
	resE[R any] struct {
		P0 R
		P1 error
	}
)

// Func0 caches a function without arguments: the first call computes and
// later calls return the same value (until it expires, is mutated or the
// cache is cleared). It is sync.OnceValue with the cache's features.
func Func0[R any](fn func() R, opts ...Option) func() R {
	c := newCache(reflect.ValueOf(fn), reflect.TypeFor[args0](), reflect.TypeFor[res1[R]](), false, opts, 1)
	return func() R {
		var a args0
		rp := c.call(noescape.Pointer(unsafe.Pointer(&a)), func(res unsafe.Pointer) bool {
			(*res1[R])(res).P0 = fn()
			return true
		})
		return (*res1[R])(rp).P0
	}
}

// Func1 caches a function of one argument.
func Func1[A, R any](fn func(A) R, opts ...Option) func(A) R {
	c := newCache(reflect.ValueOf(fn), reflect.TypeFor[args1[A]](), reflect.TypeFor[res1[R]](), false, opts, 1)
	return func(a A) R {
		t := args1[A]{a}
		rp := c.call(noescape.Pointer(unsafe.Pointer(&t)), func(res unsafe.Pointer) bool {
			(*res1[R])(res).P0 = fn(a)
			return true
		})
		return (*res1[R])(rp).P0
	}
}

// Func2 caches a function of two arguments.
func Func2[A, B, R any](fn func(A, B) R, opts ...Option) func(A, B) R {
	c := newCache(reflect.ValueOf(fn), reflect.TypeFor[args2[A, B]](), reflect.TypeFor[res1[R]](), false, opts, 1)
	return func(a A, b B) R {
		t := args2[A, B]{a, b}
		rp := c.call(noescape.Pointer(unsafe.Pointer(&t)), func(res unsafe.Pointer) bool {
			(*res1[R])(res).P0 = fn(a, b)
			return true
		})
		return (*res1[R])(rp).P0
	}
}

// Func3 caches a function of three arguments.
func Func3[A, B, C, R any](fn func(A, B, C) R, opts ...Option) func(A, B, C) R {
	c := newCache(reflect.ValueOf(fn), reflect.TypeFor[args3[A, B, C]](), reflect.TypeFor[res1[R]](), false, opts, 1)
	return func(a A, b B, cc C) R {
		t := args3[A, B, C]{a, b, cc}
		rp := c.call(noescape.Pointer(unsafe.Pointer(&t)), func(res unsafe.Pointer) bool {
			(*res1[R])(res).P0 = fn(a, b, cc)
			return true
		})
		return (*res1[R])(rp).P0
	}
}

// Func0E caches a function without arguments that can fail.
func Func0E[R any](fn func() (R, error), opts ...Option) func() (R, error) {
	c := newCache(reflect.ValueOf(fn), reflect.TypeFor[args0](), reflect.TypeFor[resE[R]](), false, opts, 1)
	return func() (R, error) {
		var a args0
		rp := c.call(noescape.Pointer(unsafe.Pointer(&a)), func(res unsafe.Pointer) bool {
			r := (*resE[R])(res)
			r.P0, r.P1 = fn()
			return r.P1 == nil
		})
		r := (*resE[R])(rp)
		return r.P0, r.P1
	}
}

// Func1E caches a function of one argument that can fail.
func Func1E[A, R any](fn func(A) (R, error), opts ...Option) func(A) (R, error) {
	c := newCache(reflect.ValueOf(fn), reflect.TypeFor[args1[A]](), reflect.TypeFor[resE[R]](), false, opts, 1)
	return func(a A) (R, error) {
		t := args1[A]{a}
		rp := c.call(noescape.Pointer(unsafe.Pointer(&t)), func(res unsafe.Pointer) bool {
			r := (*resE[R])(res)
			r.P0, r.P1 = fn(a)
			return r.P1 == nil
		})
		r := (*resE[R])(rp)
		return r.P0, r.P1
	}
}

// Func2E caches a function of two arguments that can fail, such as
// func(ctx context.Context, id string) (*User, error).
func Func2E[A, B, R any](fn func(A, B) (R, error), opts ...Option) func(A, B) (R, error) {
	c := newCache(reflect.ValueOf(fn), reflect.TypeFor[args2[A, B]](), reflect.TypeFor[resE[R]](), false, opts, 1)
	return func(a A, b B) (R, error) {
		t := args2[A, B]{a, b}
		rp := c.call(noescape.Pointer(unsafe.Pointer(&t)), func(res unsafe.Pointer) bool {
			r := (*resE[R])(res)
			r.P0, r.P1 = fn(a, b)
			return r.P1 == nil
		})
		r := (*resE[R])(rp)
		return r.P0, r.P1
	}
}

// Func3E caches a function of three arguments that can fail.
func Func3E[A, B, C, R any](fn func(A, B, C) (R, error), opts ...Option) func(A, B, C) (R, error) {
	c := newCache(reflect.ValueOf(fn), reflect.TypeFor[args3[A, B, C]](), reflect.TypeFor[resE[R]](), false, opts, 1)
	return func(a A, b B, cc C) (R, error) {
		t := args3[A, B, C]{a, b, cc}
		rp := c.call(noescape.Pointer(unsafe.Pointer(&t)), func(res unsafe.Pointer) bool {
			r := (*resE[R])(res)
			r.P0, r.P1 = fn(a, b, cc)
			return r.P1 == nil
		})
		r := (*resE[R])(rp)
		return r.P0, r.P1
	}
}
