package cacheruntime

import (
	"fmt"
	"reflect"
	"runtime"
	"unsafe"

	"github.com/cachelens/cachelens/cacheruntime/internal/noescape"
)

// Key is a 128-bit structural hash: two independent 64-bit lanes.
type Key [2]uint64

// KeyVersion names the rules keys are computed by (see the package doc,
// What a key contains). It changes with any change to cacheruntime that
// changes the key of any value, so that keys kept outside the process —
// on disk, in a store shared by replicas — under another version are
// treated as unknown, never compared.
const KeyVersion = 1

// Hash returns the structural hash cacheruntime uses for cache keys, with
// the HashFunc options among opts applied. Values that Func treats as the
// same argument hash equal; it is useful to check why two calls do or do
// not share an entry. The hash is the same in every process of this
// version of cacheruntime (see the package doc, What a key contains). A value
// that cannot be hashed returns a *HashError naming the path inside it.
func Hash[T any](v T, opts ...Option) (Key, error) {
	set := newHashSet(modeKey, userHashes(opts))
	t := reflect.TypeFor[T]()
	c := set.of(t)
	p := noescape.Pointer(unsafe.Pointer(&v))
	a, b, fail := hashValue(set, c, p, true)
	if fail != nil {
		he := HashError{ArgType: t.String()}
		switch {
		case fail.internal != nil:
			he.Internal = fmt.Sprint(fail.internal)
		case fail.complex:
		default:
			he.Type = fail.t.String()
			if fail.panicked != nil {
				he.Panic = fmt.Sprint(fail.panicked)
			}
			path, types, _ := findFailure(set, t, p, fail)
			he.Path = path
			if fail.panicked == nil {
				if s := suggestType(types, callerPackage()); s != nil {
					he.Suggest = s.String()
				}
			}
		}
		return Key{}, &he
	}
	return Key{a, b}, nil
}

// userHashes collects the HashFunc options among opts.
func userHashes(opts []Option) map[reflect.Type]userHash {
	if len(opts) == 0 {
		return nil
	}
	cfg := new(config)
	for _, o := range opts {
		if o.apply != nil {
			o.apply(cfg)
		}
	}
	return cfg.user
}

// callerPackage returns the package of Hash's caller, whose types a
// suggested HashFunc may name.
func callerPackage() string {
	pc, _, _, ok := runtime.Caller(2)
	if !ok {
		return ""
	}
	f := runtime.FuncForPC(pc)
	if f == nil {
		return ""
	}
	return funcPackage(f.Name())
}
