package fixes

import "github.com/cachelens/cachelens/cacheruntime"

func lookup(id string) string { return id }

// handle serves one request.
func handle(id string) string {
	get := cacheruntime.Func1(lookup, cacheruntime.MaxEntries(100)) // want `builds the cache get inside handle`
	return get(id) + get(id)
}

func immediate(id string) string {
	return cacheruntime.Func1(lookup)(id) // want `is called at once inside immediate`
}

var get = 1 // the name is taken at package level

func conflict(id string) string {
	get := cacheruntime.Func1(lookup) // want `builds the cache get inside conflict`
	return get(id)
}

// No fix: the cached function uses a local variable.
func closure(prefix string) string {
	add := cacheruntime.Func1(func(s string) string { return prefix + s }) // want `builds the cache add inside closure`
	return add("x")
}
