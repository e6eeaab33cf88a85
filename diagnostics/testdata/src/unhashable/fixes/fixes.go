package fixes

import (
	"unhashable/lib"

	cr "github.com/cachelens/cachelens/cacheruntime"
)

type Notifier struct {
	Channel string
	Level   int
	send    func(string) error
	ch      chan int
}

func notify(n Notifier, msg string) int { return len(msg) }

var single = cr.Func2(notify) // want `single: arg 1 n \(Notifier\)\.send: func\(string\) error cannot be hashed`

var multiline = cr.Func2(
	notify, // want `multiline: arg 1 n \(Notifier\)\.send`
	cr.TTL(0),
)

// The type comes from a package this file does not import.
var imported = cr.Func2(lib.Load) // want `imported: arg 1 c \(lib2\.Conn\)\.dial: func\(\) error cannot be hashed`

func byPointer(n *Notifier) int { return 0 }

var pointer = cr.Func1(byPointer) // want `pointer: arg 1 n \(\*Notifier\)\.send`
