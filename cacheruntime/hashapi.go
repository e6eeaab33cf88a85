package cacheruntime

import (
	"reflect"
	"unsafe"
)

// Key is a 128-bit structural hash: two independent 64-bit lanes.
type Key [2]uint64

// Hash returns the structural hash cacheruntime uses for cache keys, with
// the HashFunc options among opts applied. Values that Func treats as the
// same argument hash equal; it is useful to check why two calls do or do
// not share an entry. The hash is stable only within one process. A value
// that cannot be hashed returns a *HashError naming the path inside it.
func Hash[T any](v T, opts ...Option) (Key, error) {
	set := newHashSet(modeKey, userHashes(opts))
	t := reflect.TypeFor[T]()
	c := set.of(t)
	p := noescape(unsafe.Pointer(&v))
	a, b, fail := hashValue(set, c, p, true)
	if fail != nil {
		he := HashError{ArgType: t.String()}
		if !fail.complex {
			he.Type = fail.t.String()
			path, types, _ := findFailure(set, reflect.NewAt(t, p).Elem(), fail)
			he.Path = path
			if fail.panicked == nil {
				if s := suggestType(types); s != nil {
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
