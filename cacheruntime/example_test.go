package cacheruntime_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/cachelens/cachelens/cacheruntime"
)

type exProduct struct {
	Name  string
	Price float64
}

type exCatalog struct {
	Region   string
	Products []exProduct
}

func Example() {
	loads := 0
	load := func(region string) *exCatalog {
		loads++ // stands for a slow database load
		return &exCatalog{Region: region, Products: []exProduct{{"desk", 120}, {"lamp", 30}}}
	}
	var stats cacheruntime.Handle
	loadCatalog := cacheruntime.Func1(load, cacheruntime.WithHandle(&stats), cacheruntime.NoReport())

	for range 3 {
		loadCatalog("eu")
	}
	loadCatalog("us")

	s := stats.Stats()
	fmt.Printf("loads: %d, hits: %d, misses: %d\n", loads, s.Hits, s.Misses)
	// Output: loads: 2, hits: 2, misses: 2
}

// A HashFunc teaches the cache how to hash a type: here a client holding a
// callback (which cannot be hashed) is identified by its address.
func ExampleHashFunc() {
	type Client struct {
		Addr    string
		OnRetry func(error)
	}
	fetch := func(c Client, path string) string { return c.Addr + path }

	byAddr := cacheruntime.HashFunc(func(c Client) any { return c.Addr })
	var stats cacheruntime.Handle
	cached := cacheruntime.Func2(fetch, byAddr, cacheruntime.WithHandle(&stats), cacheruntime.NoReport())

	c := Client{Addr: "db:5432", OnRetry: func(error) {}}
	cached(c, "/users")
	cached(c, "/users")
	s := stats.Stats()
	fmt.Println("hits:", s.Hits, "uncached:", s.Uncached)
	// Output: hits: 1 uncached: 0
}

// Without the HashFunc, the call runs uncached and the hash error says
// where the unhashable part is and how to fix it.
func ExampleHashError_Detail() {
	type Notifier struct {
		Channel string
		Send    func(msg string) error
	}
	notify := cacheruntime.Func1(func(n Notifier) error { return nil }, cacheruntime.Strict(), cacheruntime.NoReport())
	defer func() {
		err := recover().(*cacheruntime.HashError)
		fmt.Println(err.Detail())
	}()
	notify(Notifier{Channel: "ops"})
	// Output: arg 1 (cacheruntime_test.Notifier).Send: func(string) error cannot be hashed
}

// Context arguments are not part of the key.
func ExampleFunc2E() {
	calls := 0
	lookup := cacheruntime.Func2E(func(ctx context.Context, id string) (string, error) {
		calls++
		if id == "" {
			return "", errors.New("no id") // errors are not cached
		}
		return strings.ToUpper(id), nil
	}, cacheruntime.NoReport())

	ctx1, cancel := context.WithCancel(context.Background())
	defer cancel()
	lookup(ctx1, "ann")
	name, _ := lookup(context.Background(), "ann")
	lookup(ctx1, "")
	lookup(ctx1, "")
	fmt.Println(name, calls)
	// Output: ANN 3
}

// Clone gives a caller its own copy of a cached result to change.
func ExampleClone() {
	loadCatalog := cacheruntime.Func1(func(region string) *exCatalog {
		return &exCatalog{Region: region, Products: []exProduct{{"desk", 120}}}
	}, cacheruntime.NoReport())

	c := cacheruntime.Clone(loadCatalog("eu"))
	c.Products[0].Price = 0 // the cached catalog is untouched
	fmt.Println(loadCatalog("eu").Products[0].Price, c.Products[0].Price)
	// Output: 120 0
}

// Hash shows whether two values would share a cache entry.
func ExampleHash() {
	a, _ := cacheruntime.Hash(map[string][]float64{"x": {0, 1}, "y": {2}})
	b, _ := cacheruntime.Hash(map[string][]float64{"y": {2}, "x": {math.Copysign(0, -1), 1}})
	c, _ := cacheruntime.Hash(map[string][]float64{"y": {2}, "x": {0, 1, 2}})
	fmt.Println(a == b, a == c)
	// Output: true false
}
