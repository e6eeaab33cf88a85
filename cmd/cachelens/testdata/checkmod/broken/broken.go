// Package broken has a type error but its checks still run.
package broken

import "github.com/cachelens/cachelens/cacheruntime"

type Cfg struct {
	Name string
	Hook func()
}

var load = cacheruntime.Func1(func(c Cfg) int { return len(c.Name) })

var n int = "not a number"
