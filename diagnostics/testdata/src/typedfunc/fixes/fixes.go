package fixes

import (
	"context"

	"github.com/cachelens/cachelens/cacheruntime"
)

type Query struct {
	Region   string
	MaxPrice float64
}

func search(q Query) []string                                     { return []string{q.Region} }
func fetch(ctx context.Context, id string, n int) ([]byte, error) { return nil, nil }

var results = cacheruntime.Func(search, cacheruntime.MaxEntries(10)) // want `cacheruntime.Func1 caches it`

var bytes = cacheruntime.Func[func(context.Context, string, int) ([]byte, error)](fetch) // want `cacheruntime.Func3E caches it`

var pick = cacheruntime.Func(func(a, b int) int { return max(a, b) }) // want `cacheruntime.Func2 caches it`
