// Command catalog is the example program cachelens ships with: a small
// product catalog service that caches its expensive loads with
// cacheruntime, and makes the mistakes cachelens is built to catch (an
// argument that cannot be hashed, a caller that mutates a cached result).
// Run it with `go run ./example/catalog`; it prints what each cache did.
package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/cachelens/cachelens/cacheruntime"
)

// Product is one item in a catalog.
type Product struct {
	SKU   string
	Name  string
	Price float64
	Tags  []string
}

// Catalog is everything sold in one region.
type Catalog struct {
	Region   string
	Products []Product
}

// Query selects products.
type Query struct {
	Region   string
	MaxPrice float64
	Tag      string
}

// Notifier delivers messages; Send makes it impossible to hash.
type Notifier struct {
	Channel string
	Send    func(msg string) error
}

var (
	catalogStats cacheruntime.Handle
	searchStats  cacheruntime.Handle
	notifyStats  cacheruntime.Handle
)

// loadCatalog is slow: it stands for a database or network load.
var loadCatalog = cacheruntime.Func1(loadCatalogUncached, cacheruntime.WithHandle(&catalogStats))

func loadCatalogUncached(region string) *Catalog {
	time.Sleep(20 * time.Millisecond)
	c := &Catalog{Region: region}
	for i, name := range []string{"kettle", "teapot", "mug", "cup", "saucer", "spoon"} {
		c.Products = append(c.Products, Product{
			SKU:   fmt.Sprintf("%s-%03d", strings.ToUpper(region), i),
			Name:  name,
			Price: float64(5 + 7*i),
			Tags:  []string{"kitchen", region},
		})
	}
	return c
}

// search filters a region's catalog.
var search = cacheruntime.Func(searchUncached, cacheruntime.WithHandle(&searchStats))

func searchUncached(q Query) []Product {
	time.Sleep(5 * time.Millisecond)
	var out []Product
	for _, p := range loadCatalog(q.Region).Products {
		if p.Price <= q.MaxPrice {
			out = append(out, p)
		}
	}
	return out
}

// notify cannot be cached as written: Notifier holds a func.
var notify = cacheruntime.Func2(notifyUncached, cacheruntime.WithHandle(&notifyStats))

func notifyUncached(n Notifier, msg string) error {
	return n.Send(msg)
}

// applyDiscount changes the catalog it is given — here the cached one.
func applyDiscount(c *Catalog) {
	c.Products[1].Price *= 0.9
}

func main() {
	for range 5 {
		loadCatalog("eu")
	}
	loadCatalog("us")

	for _, max := range []float64{10, 20, 10, 10, 30} {
		search(Query{Region: "eu", MaxPrice: max})
	}

	applyDiscount(loadCatalog("eu"))
	loadCatalog("eu")

	n := Notifier{Channel: "ops", Send: func(string) error { return nil }}
	notify(n, "catalog loaded")
	notify(n, "catalog loaded")

	for _, h := range []*cacheruntime.Handle{&catalogStats, &searchStats, &notifyStats} {
		report(h.Stats())
	}
}

func report(s cacheruntime.Stats) {
	fmt.Printf("%-15s %3d hits %3d misses %3d uncached  (%.0f%% hit rate, saved %s)\n",
		s.Name, s.Hits, s.Misses, s.Uncached, 100*s.HitRate(), s.Saved().Round(time.Millisecond))
	for _, site := range s.Sites {
		fmt.Printf("    line %-3d %3d hits %3d misses", site.Line, site.Hits, site.Misses)
		if len(site.Reasons) > 0 {
			fmt.Printf("   last miss: %s", site.Reasons[0].Reason)
		}
		fmt.Println()
	}
	for _, e := range s.HashErrorLog {
		fmt.Printf("    hash error ×%d: %s\n", e.Count, e.Err.Detail())
	}
	for _, m := range s.MutationLog {
		fmt.Printf("    mutation ×%d: %s changed (received at line %d, detected at line %d)\n", m.Count, m.Path, m.Received.Line, m.Detected.Line)
	}
}
