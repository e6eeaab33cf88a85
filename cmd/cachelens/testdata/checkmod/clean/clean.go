// Package clean uses a cache correctly.
package clean

import "github.com/cachelens/cachelens/cacheruntime"

var square = cacheruntime.Func1(func(x int) int { return x * x })

func Sum(n int) int {
	s := 0
	for i := range n {
		s += square(i % 10)
	}
	return s
}
