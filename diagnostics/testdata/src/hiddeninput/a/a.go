package a

import (
	"math/rand/v2"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"hiddeninput/lib"

	"github.com/cachelens/cachelens/cacheruntime"
)

var region = "eu" // changed by SetRegion

func SetRegion(r string) { region = r }

var counters = map[string]int{}

func count(k string) { counters[k]++ }

// Never changed after initialisation: not an input.
var validID = regexp.MustCompile(`^[a-z]+$`)

var table = map[string]int{"a": 1}

const limit = 10

var mu sync.Mutex

func report(day string) string {
	return day + region // want `report is cached by cachedReport, but its result depends on package variable region, which is not part of the cache key`
}

var cachedReport = cacheruntime.Func1(report)

func stamped(id string) string {
	return id + time.Now().Format("15:04") // want `stamped is cached by cachedStamped, but its result depends on time\.Now\(\), which is not part of the cache key`
}

var cachedStamped = cacheruntime.Func1(stamped)

var dice = cacheruntime.Func1(func(n int) int {
	return rand.IntN(n) // want `dice is cached, but its result depends on rand\.IntN\(\)`
})

var env = cacheruntime.Func(func(key string) string {
	return strings.ToUpper(os.Getenv(key)) // want `env is cached, but its result depends on os\.Getenv\(\)`
})

func currentRegion() string { return region }

func indirect(day string) string {
	return day + currentRegion() // want `indirect is cached by cachedIndirect, but it calls currentRegion, which reads package variable region; that is not part of the cache key`
}

var cachedIndirect = cacheruntime.Func1(indirect)

var counted = cacheruntime.Func1(func(k string) int {
	return counters[k] // want `counted is cached, but its result depends on package variable counters`
})

// Another package's function that reads the clock.
var remote = cacheruntime.Func1(lib.Stamp) // want `lib\.Stamp is cached by remote, but it reads time\.Now\(\), which is not part of the cache key`

func stampTwice(s string) string {
	return lib.Stamp(s) // want `stampTwice is cached by cachedStampTwice, but it calls lib\.Stamp, which reads time\.Now\(\)`
}

var cachedStampTwice = cacheruntime.Func1(stampTwice)

// Fine: arguments, constants, never-changed variables, locks, pure
// functions, other cached functions, a locally seeded generator.
func pure(id string) int {
	mu.Lock()
	defer mu.Unlock()
	if !validID.MatchString(id) {
		return -1
	}
	r := rand.New(rand.NewPCG(1, 2))
	return table[id] + limit + len(lib.Pure(id)) + len(cachedReport(id)) + r.IntN(1)
}

var cachedPure = cacheruntime.Func1(pure)
