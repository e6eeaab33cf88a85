package a

import (
	"context"
	"errors"

	"github.com/cachelens/cachelens/cacheruntime"
	cr "github.com/cachelens/cachelens/cacheruntime"
)

type Product struct {
	SKU   string
	Price float64
}

func square(n int) int                                       { return n * n }
func lookup(ctx context.Context, id string) (Product, error) { return Product{SKU: id}, nil }
func none() []Product                                        { return nil }
func three(a, b, c int) string                               { return "" }
func four(a, b, c, d int) string                             { return "" }
func variadic(xs ...int) int                                 { return len(xs) }
func onlyErr(id string) error                                { return errors.New(id) }
func pair(id string) (Product, bool)                         { return Product{}, false }
func noResult(id string)                                     {}

// Loader is a defined func type: Func returns a Loader, Func1 would not.
type Loader func(string) Product

func load(id string) Product { return Product{SKU: id} }

type server struct{ get func(string) Product }

func (s *server) fetch(id string) Product { return Product{SKU: id} }

var (
	sq     = cacheruntime.Func(square)                             // want `cacheruntime.Func caches sq through reflection: .* cacheruntime.Func1 caches it the same way without reflection`
	look   = cacheruntime.Func(lookup, cacheruntime.TTL(0))        // want `cacheruntime.Func caches look .* cacheruntime.Func2E`
	all    = cacheruntime.Func(none)                               // want `cacheruntime.Func0 caches it`
	tri    = cr.Func(three)                                        // want `cacheruntime.Func3 caches it`
	lit    = cacheruntime.Func(func(s string) string { return s }) // want `cacheruntime.Func1 caches it`
	inst   = cacheruntime.Func[func(int) int](square)              // want `cacheruntime.Func1 caches it`
	typed  = cacheruntime.Func2E(func(a, b int) (int, error) { return a + b, nil })
	wide   = cacheruntime.Func(four)
	vari   = cacheruntime.Func(variadic)
	errs   = cacheruntime.Func(onlyErr)
	twice  = cacheruntime.Func(pair)
	nores  = cacheruntime.Func(noResult)
	named  = cacheruntime.Func(Loader(load))
	holder = &server{}
)

func init() {
	holder.get = cacheruntime.Func(holder.fetch) // want `cacheruntime.Func caches get .* cacheruntime.Func1 caches it`
}

func generic[T any](f func(T) T) func(T) T {
	return cacheruntime.Func(f) // want `Func1 caches it`
}
