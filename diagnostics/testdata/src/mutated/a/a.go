package a

import (
	"maps"
	"slices"
	"sort"

	"github.com/cachelens/cachelens/cacheruntime"
)

type Item struct {
	SKU   string
	Price float64
	Tags  []string
}

type Catalog struct {
	Region string
	Items  []Item
	Index  map[string]int
	Owner  *Person
}

type Person struct{ Name string }

func load(region string) *Catalog { return &Catalog{Region: region} }

var loadCatalog = cacheruntime.Func1(load)

var loadSafe = cacheruntime.Func1(load, cacheruntime.AllowOutputMutation())

func loadValue(n int) Item { return Item{} }

var loadItem = cacheruntime.Func1(loadValue)

func loadList(n int) ([]Item, error) { return nil, nil }

var loadItems = cacheruntime.Func1E(loadList)

func mutations() {
	cat := loadCatalog("eu")
	cat.Region = "us"                      // want `assignment to cat\.Region changes the result cached by loadCatalog \(received at line 41\), which every later call returns`
	cat.Items[1].Price = 99                // want `assignment to cat\.Items\[1\]\.Price changes the result cached by loadCatalog`
	cat.Items[0].Price *= 2                // want `assignment to cat\.Items\[0\]\.Price`
	cat.Index["x"]++                       // want `cat\.Index\["x"\]\+\+ changes the result cached by loadCatalog`
	delete(cat.Index, "x")                 // want `delete on cat\.Index changes the result cached by loadCatalog`
	clear(cat.Items)                       // want `clear on cat\.Items changes`
	cat.Owner.Name = "x"                   // want `assignment to cat\.Owner\.Name`
	*cat = Catalog{}                       // want `assignment to \*cat`
	sort.Slice(cat.Items, nil)             // want `sort\.Slice on cat\.Items works in place and changes the result cached by loadCatalog`
	slices.Reverse(cat.Items)              // want `slices\.Reverse on cat\.Items works in place`
	maps.Copy(cat.Index, map[string]int{}) // want `maps\.Copy on cat\.Index`
	copy(cat.Items, []Item{})              // want `copy on cat\.Items`
	more := append(cat.Items, Item{})      // want `append to cat\.Items may write into its backing array, which changes the result cached by loadCatalog`
	_ = more

	// Aliases and derived values.
	items := cat.Items
	items[0].SKU = "z" // want `assignment to items\[0\]\.SKU`
	alias := cat
	alias.Region = "x" // want `assignment to alias\.Region`
	p := &cat.Items[2]
	p.Price = 1 // want `assignment to p\.Price`
	for _, it := range cat.Items {
		it.Tags[0] = "x" // want `assignment to it\.Tags\[0\]`
		it.Price = 3     // a copy of the element: fine
	}
	for i := range cat.Items {
		cat.Items[i].SKU = "" // want `assignment to cat\.Items\[i\]\.SKU`
	}
	first := cat.Items[0] // a copy of a struct that still shares Tags
	first.Price = 1
	first.Tags[0] = "y" // want `assignment to first\.Tags\[0\]`

	// Directly on the call.
	loadCatalog("us").Region = "x" // want `assignment to loadCatalog\("us"\)\.Region`

	// In a closure.
	func() {
		cat.Region = "in closure" // want `assignment to cat\.Region`
	}()
}

func results() error {
	list, err := loadItems(3)
	if err != nil {
		return err
	}
	list[0].Price = 1 // want `assignment to list\[0\]\.Price changes the result cached by loadItems`
	return nil
}

func fine() {
	// Read-only use.
	cat := loadCatalog("eu")
	_ = len(cat.Items)
	total := 0.0
	for _, it := range cat.Items {
		total += it.Price
	}
	// Cloned first.
	mine := cacheruntime.Clone(loadCatalog("eu"))
	mine.Region = "x"
	mine.Items[0].Price = 0
	// Cloned afterwards, into the same variable.
	c2 := loadCatalog("eu")
	c2 = cacheruntime.Clone(c2)
	c2.Region = "y"
	// Reassigned with something unrelated.
	c3 := loadCatalog("eu")
	c3 = &Catalog{}
	c3.Region = "z"
	// AllowOutputMutation.
	s := loadSafe("eu")
	s.Region = "x"
	// Values: every caller gets a copy.
	it := loadItem(1)
	it.Price = 5
	// A new slice that does not share the backing array.
	fresh := slices.Clone(cat.Items)
	fresh[0].Price = 1
	// Writing the variable itself is not a mutation.
	cat = nil
	_ = cat
}

// A package-level variable that receives a cached result.
var global = loadCatalog("global")

func useGlobal() {
	global.Region = "x" // want `assignment to global\.Region changes the result cached by loadCatalog \(received at line 128\)`
}

// Changes made by functions the result is passed to.

func discount(c *Catalog) {
	c.Items[0].Price *= 0.9
}

func discountTwice(c *Catalog) {
	discount(c)
}

func (c *Catalog) Rename(r string) { c.Region = r } // want Rename:`mutates\[-1\]`

func readOnly(c *Catalog) int { return len(c.Items) }

func addItem(items []Item) []Item {
	return append(items, Item{})
}

func helpers() {
	discount(loadCatalog("eu"))      // want `discount, which changes its argument \(assignment to c\.Items\[0\]\.Price\), changes the result cached by loadCatalog`
	discountTwice(loadCatalog("eu")) // want `^discountTwice, which changes its argument \(through discount: assignment to c\.Items\[0\]\.Price\), changes the result cached by loadCatalog`
	cat := loadCatalog("eu")
	cat.Rename("x") // want `method Rename, which changes its receiver \(assignment to c\.Region\), changes the result cached by loadCatalog`
	_ = readOnly(cat)
	discount(cacheruntime.Clone(cat))
	_ = addItem(loadCatalog("eu").Items) // want `^addItem, which changes its argument \(append to items may write into its backing array\), changes the result cached by loadCatalog \(received`
}
