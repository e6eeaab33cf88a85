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

// A wrapper is all that the function a typed variant returns holds: its
// cache and the function it wraps (F is a func type, one word), padded so
// that the closure — a code pointer, the generic function's dictionary
// and a wrapper — is 64 bytes: an allocation size class whose objects
// are aligned to cache lines, so the closure, which every call reads, has
// its line to itself (TestClosuresOwnTheirLines). The 24-byte
// closure it replaces shared a line with whatever was allocated next to
// it; when that was a word another goroutine writes on each of its calls
// (testing.PB's counter in a RunParallel benchmark: 5 of 12 processes)
// every call here waited for the line, and a hit on two cores took twice
// as long.
type wrapper[F any] struct {
	c  *cache
	fn F
	_  [64 - 4*unsafe.Sizeof(uintptr(0))]byte
}

func wrap[F any](c *cache, fn F) wrapper[F] { return wrapper[F]{c: c, fn: fn} }

// Func0 caches a function without arguments: the first call computes and
// later calls return the same value (until it expires, is mutated or the
// cache is cleared). It is sync.OnceValue with the cache's features.
func Func0[R any](fn func() R, opts ...Option) func() R {
	w := wrap(newCache(reflect.ValueOf(fn), reflect.TypeFor[args0](), reflect.TypeFor[res1[R]](), false, opts, 1), fn)
	return func() R {
		c, fn := w.c, w.fn // the closure holds w alone: see wrapper
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
	w := wrap(newCache(reflect.ValueOf(fn), reflect.TypeFor[args1[A]](), reflect.TypeFor[res1[R]](), false, opts, 1), fn)
	return func(a A) R {
		c, fn := w.c, w.fn // the closure holds w alone: see wrapper
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
	w := wrap(newCache(reflect.ValueOf(fn), reflect.TypeFor[args2[A, B]](), reflect.TypeFor[res1[R]](), false, opts, 1), fn)
	return func(a A, b B) R {
		c, fn := w.c, w.fn // the closure holds w alone: see wrapper
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
	w := wrap(newCache(reflect.ValueOf(fn), reflect.TypeFor[args3[A, B, C]](), reflect.TypeFor[res1[R]](), false, opts, 1), fn)
	return func(a A, b B, cc C) R {
		c, fn := w.c, w.fn // the closure holds w alone: see wrapper
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
	w := wrap(newCache(reflect.ValueOf(fn), reflect.TypeFor[args0](), reflect.TypeFor[resE[R]](), false, opts, 1), fn)
	return func() (R, error) {
		c, fn := w.c, w.fn // the closure holds w alone: see wrapper
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
	w := wrap(newCache(reflect.ValueOf(fn), reflect.TypeFor[args1[A]](), reflect.TypeFor[resE[R]](), false, opts, 1), fn)
	return func(a A) (R, error) {
		c, fn := w.c, w.fn // the closure holds w alone: see wrapper
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
	w := wrap(newCache(reflect.ValueOf(fn), reflect.TypeFor[args2[A, B]](), reflect.TypeFor[resE[R]](), false, opts, 1), fn)
	return func(a A, b B) (R, error) {
		c, fn := w.c, w.fn // the closure holds w alone: see wrapper
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
	w := wrap(newCache(reflect.ValueOf(fn), reflect.TypeFor[args3[A, B, C]](), reflect.TypeFor[resE[R]](), false, opts, 1), fn)
	return func(a A, b B, cc C) (R, error) {
		c, fn := w.c, w.fn // the closure holds w alone: see wrapper
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
