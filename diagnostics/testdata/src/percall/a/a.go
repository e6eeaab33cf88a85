package a

import (
	"sync"

	"github.com/cachelens/cachelens/cacheruntime"
)

func lookup(id string) string { return id }

// An HTTP handler's shape, without importing net/http (which would make
// the analysis test type-check much of the standard library).
type responseWriter interface{ Write([]byte) (int, error) }

type request struct{ URL struct{ Path string } }

// Package level: the right place.
var byID = cacheruntime.Func1(lookup)

func handle(w responseWriter, r *request) {
	get := cacheruntime.Func1(lookup) // want `cacheruntime\.Func1 builds the cache get inside handle, so every call of handle starts with a new, empty cache and nothing is reused`
	get(r.URL.Path)
	get(r.URL.Path)
}

func once(id string) string {
	return cacheruntime.Func1(lookup)(id) // want `cacheruntime\.Func1 is called at once inside once`
}

func inLiteral() {
	f := func() {
		g := cacheruntime.Func(lookup) // want `cacheruntime\.Func builds the cache g inside the function literal in inLiteral`
		g("x")
	}
	f()
}

// Fine: these run once.
func init() {
	load := cacheruntime.Func1(lookup)
	load("x")
}

var (
	once1   sync.Once
	shared  func(string) string
	lazy    = sync.OnceValue(func() func(string) string { return cacheruntime.Func1(lookup) })
	viaFunc = sync.OnceFunc(func() { shared = cacheruntime.Func1(lookup) })
)

func setup() {
	once1.Do(func() {
		local := cacheruntime.Func1(lookup)
		local("warm")
		shared = local
	})
}

// Fine: the cache outlives the call.
type Service struct {
	get func(string) string
}

func NewService() *Service {
	return &Service{get: cacheruntime.Func1(lookup)}
}

func newGetter() func(string) string {
	g := cacheruntime.Func1(lookup)
	return g
}

func (s *Service) reset() {
	s.get = cacheruntime.Func1(lookup)
}

func register(m map[string]func(string) string) {
	m["lookup"] = cacheruntime.Func1(lookup)
}
