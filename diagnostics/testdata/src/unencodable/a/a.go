package a

import (
	"time"

	"github.com/cachelens/cachelens/cacheruntime"
)

type Report struct {
	Title string
	Rows  []Row
}

type Row struct {
	Name  string
	total int
}

type Plain struct {
	Name  string
	Since time.Time // encodes itself
	Any   any       // checked at run time
}

type Stamp struct{ at int64 }

func (s Stamp) GobEncode() ([]byte, error) { return nil, nil }

type jsonCodec struct{}

func (jsonCodec) Marshal(v any) ([]byte, error)   { return nil, nil }
func (jsonCodec) Unmarshal(b []byte, v any) error { return nil }

func report(id int) Report { return Report{} }

func plain(id int) (Plain, error) { return Plain{}, nil }

func stamp(id int) Stamp { return Stamp{} }

func callback(id int) func() { return nil }

func both(id int) (int, chan int) { return 0, nil }

var reports = cacheruntime.Func1(report, cacheruntime.Persist()) // want `reports is persisted with encoding/gob, but its result \(Report\) holds Row, whose unexported field total gob would drop: its results will stay in memory only`

var inMemory = cacheruntime.Func1(report)

var withCodec = cacheruntime.Func1(report, cacheruntime.WithCodec(jsonCodec{}))

var plains = cacheruntime.Func1E(plain, cacheruntime.Persist())

var stamps = cacheruntime.Func1(stamp, cacheruntime.PersistDir("/tmp/x"))

var callbacks = cacheruntime.Func1(callback, cacheruntime.PersistMaxBytes(1<<20)) // want `callbacks is persisted with encoding/gob, but its result \(func\(\)\) holds a func, which gob cannot encode`

var twice = cacheruntime.Func(both, cacheruntime.Persist()) // want `twice is persisted with encoding/gob, but its result 2 \(chan int\) holds a channel`
