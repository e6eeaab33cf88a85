// Package store defines cached loaders that package web uses.
package store

import (
	"time"

	"github.com/cachelens/cachelens/cacheruntime"
)

type Product struct {
	SKU   string
	Price float64
}

type Catalog struct {
	Region   string
	Products []Product
}

// LoadCatalog is cached; web changes its result.
var LoadCatalog = cacheruntime.Func1(func(region string) *Catalog {
	return &Catalog{Region: region, Products: []Product{{"a", 1}, {"b", 2}}}
})

// Notifier cannot be hashed.
type Notifier struct {
	Channel string
	Send    func(string) error
}

func notify(n Notifier, msg string) int { return len(msg) }

var Notify = cacheruntime.Func2(notify)

func stamp(id string) string { return id + time.Now().String() }

var Stamp = cacheruntime.Func1(stamp)
