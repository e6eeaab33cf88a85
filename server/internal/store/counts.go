package store

import "github.com/cachelens/cachelens/wire"

// Calls count the calls at a call site, or of a cached function: the
// one place the three outcomes of a call are added up. A run's counts
// minus the counts of its base (see Store.Reset) are what a snapshot
// shows of it.
type Calls struct {
	Hits     int64 // answered from the cache
	Misses   int64 // computed
	Uncached int64 // ran without the cache: an argument could not be hashed
}

// Add returns c plus o.
func (c Calls) Add(o Calls) Calls {
	return Calls{c.Hits + o.Hits, c.Misses + o.Misses, c.Uncached + o.Uncached}
}

// Sub returns c minus o.
func (c Calls) Sub(o Calls) Calls {
	return Calls{c.Hits - o.Hits, c.Misses - o.Misses, c.Uncached - o.Uncached}
}

// siteCalls are the calls a run counted at a site.
func siteCalls(x *wire.RunSite) Calls {
	if x == nil {
		return Calls{}
	}
	return Calls{x.Hits, x.Misses, x.Uncached}
}

// Counts are what a cached function counted besides its calls, summed
// over runs: the counters of its run file record (wire.Ctr…), except the
// gauges Entries and Bytes, which are not differences.
type Counts struct {
	Evictions  int64 // entries removed to stay within MaxEntries
	Expired    int64 // entries removed because their TTL passed
	Mutations  int64 // hits that found their result changed by a caller
	HashErrors int64 // arguments that could not be hashed
	ComputeNs  int64 // time in the wrapped function, over Computes computations
	Computes   int64
	HashNs     int64 // time hashing arguments and checking results, over HashN calls
	HashN      int64
}

// defCounts reads the counters of a run's definition record.
func defCounts(c [wire.DefNCounter]int64) Counts {
	return Counts{
		Evictions: c[wire.CtrEvictions], Expired: c[wire.CtrExpired],
		Mutations: c[wire.CtrMutations], HashErrors: c[wire.CtrHashErrors],
		ComputeNs: c[wire.CtrComputeNs], Computes: c[wire.CtrComputes],
		HashNs: c[wire.CtrHashNs], HashN: c[wire.CtrHashN],
	}
}

// Add returns c plus o.
func (c Counts) Add(o Counts) Counts {
	return Counts{
		c.Evictions + o.Evictions, c.Expired + o.Expired,
		c.Mutations + o.Mutations, c.HashErrors + o.HashErrors,
		c.ComputeNs + o.ComputeNs, c.Computes + o.Computes,
		c.HashNs + o.HashNs, c.HashN + o.HashN,
	}
}

// Sub returns c minus o.
func (c Counts) Sub(o Counts) Counts {
	return Counts{
		c.Evictions - o.Evictions, c.Expired - o.Expired,
		c.Mutations - o.Mutations, c.HashErrors - o.HashErrors,
		c.ComputeNs - o.ComputeNs, c.Computes - o.Computes,
		c.HashNs - o.HashNs, c.HashN - o.HashN,
	}
}
