package a

import (
	"context"
	"database/sql"
	"io"
	"unsafe"

	"github.com/cachelens/cachelens/cacheruntime"
)

type Notifier struct {
	Channel string
	Send    func(string) error
}

func notify(n Notifier, msg string) error { return n.Send(msg) }

var cachedNotify = cacheruntime.Func2(notify) // want `cachedNotify: arg 1 n \(Notifier\)\.Send: func\(string\) error cannot be hashed, so every call runs uncached`

// A HashFunc for the struct, or for the func type inside it, covers it.
var covered = cacheruntime.Func2(notify, cacheruntime.HashFunc(func(n Notifier) any { return n.Channel }))

var coveredFunc = cacheruntime.Func2(notify, cacheruntime.HashFunc(func(func(string) error) any { return nil }))

func query(ctx context.Context, db *sql.DB, id int) (string, error) { return "", nil }

var cachedQuery = cacheruntime.Func3E(query) // want `cachedQuery: arg 2 db \(\*sql\.DB\)\.[\w.\[\]]+: .* cannot be hashed`

// Contexts are not part of the key; interfaces are not looked into.
func withCtx(ctx context.Context, v any, r io.Reader) int { return 0 }

var fine = cacheruntime.Func3(withCtx)

// A struct that embeds a context is data: its context field is left out,
// its other fields count.
type request struct {
	context.Context
	ID      int
	OnError func(error)
}

func handle(r request) int { return r.ID }

var cachedHandle = cacheruntime.Func1(handle) // want `cachedHandle: arg 1 r \(request\)\.OnError: func\(error\) cannot be hashed`

type plainRequest struct {
	context.Context
	ID int
}

func handlePlain(r plainRequest) int { return r.ID }

var cachedPlain = cacheruntime.Func1(handlePlain)

type Conn struct {
	ID     int
	events chan string
}

type Pool struct {
	Name  string
	Conns []*Conn
}

var pooled = cacheruntime.Func1(func(p Pool) int { return len(p.Conns) }) // want `pooled: arg 1 p \(Pool\)\.Conns\[\]\.events: chan string cannot be hashed`

var byMap = cacheruntime.Func(func(m map[string]func()) int { return len(m) }) // want `byMap: arg 1 m \(map\[string\]func\(\)\)\[\]: func\(\) cannot be hashed`

var byKey = cacheruntime.Func(func(m map[chan int]string) int { return len(m) }) // want `byKey: arg 1 m \(map\[chan int\]string\)\[key\]: chan int cannot be hashed`

var raw = cacheruntime.Func1(func(p unsafe.Pointer) int { return 0 }) // want `raw: arg 1 p \(unsafe\.Pointer\): unsafe\.Pointer cannot be hashed`

type Handler func(string)

var named = cacheruntime.Func2(func(id int, h Handler) int { return id }) // want `named: arg 2 h \(Handler\): Handler cannot be hashed`

// A variadic parameter is a slice.
var variadic = cacheruntime.Func(func(prefix string, cbs ...func()) int { return 0 }) // want `variadic: arg 2 cbs \(\[\]func\(\)\)\[\]: func\(\) cannot be hashed`

type svc struct{}

func (svc) Load(cb func()) int { return 0 }

func init() {
	s := svc{}
	load := cacheruntime.Func(s.Load) // want `load: arg 1 cb \(func\(\)\): func\(\) cannot be hashed`
	_ = load
}

// Recursive types terminate and are fine.
type Node struct {
	Next *Node
	Val  int
}

var recursive = cacheruntime.Func1(func(n *Node) int { return n.Val })

// Options passed as a slice cannot be read: nothing is reported.
var opts []cacheruntime.Option

var dynamic = cacheruntime.Func2(notify, opts...)

// A struct that holds the unhashable type under a HashFunc is fine.
type Wrapper struct {
	N     Notifier
	Label string
}

var wrapped = cacheruntime.Func1(func(w Wrapper) int { return 0 }, cacheruntime.HashFunc(func(n Notifier) any { return n.Channel }))
