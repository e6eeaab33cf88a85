// Package web uses the store's caches.
package web

import (
	"github.com/cachelens/cachelens/cacheruntime"

	"example.com/checkmod/store"
)

func Discount(region string) {
	cat := store.LoadCatalog(region)
	cat.Products[0].Price *= 0.9
}

func Handle(id string) string {
	get := cacheruntime.Func1(func(s string) string { return s + "!" })
	return get(id)
}
