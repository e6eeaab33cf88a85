package cacheruntime

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"time"

	"github.com/cachelens/cachelens/internal/diskstore"
	"github.com/cachelens/cachelens/wire"
)

// diskTier is Persist's tier: a bucket of a diskstore directory.
type diskTier struct {
	c       *cache
	idn     func() identity
	rootErr error
	dir     *diskstore.Dir
	maxSize int64

	once sync.Once
	b    *diskstore.Bucket // nil: persisting failed (reported once)
	ctr  tierCounters
	loc  string
}

// dirs are the process's open persist directories, one per root, so that
// all caches in a directory share its byte count.
var dirs sync.Map // root → *diskstore.Dir

func newDiskTier(c *cache, fn reflect.Value) tier {
	d := &diskTier{c: c, idn: c.identity}
	max := int64(DefaultPersistMaxBytes)
	if c.cfg.persistMaxSet {
		max = c.cfg.persistMax
	}
	root, err := persistRoot(&c.cfg)
	d.loc, d.rootErr = root, err
	if err == nil {
		v, _ := dirs.LoadOrStore(root, diskstore.Open(root, max))
		d.dir = v.(*diskstore.Dir)
		if max > 0 {
			d.maxSize = max / 4
		}
	}
	return d
}

func (d *diskTier) kind() uint32 { return 1 }

// open returns the bucket, or nil after reporting why there is none. The
// first call makes the bucket (fingerprinting the function's code) and
// the tier's record: nothing is done on disk for a cache never called.
func (d *diskTier) open() *diskstore.Bucket {
	d.once.Do(func() {
		idn := d.idn()
		var err error
		if d.rootErr != nil {
			err = d.rootErr
		} else {
			c := d.c
			meta := diskstore.Meta{Name: c.name, Binding: idn.binding, Sig: c.sig, File: c.file, Line: c.line,
				Code: idn.print.Basis, Created: time.Now(), KeyRule: KeyVersion, Program: idn.program}
			if c.cfg.ttl > 0 {
				meta.TTL = c.cfg.ttl.String()
			}
			if d.b, err = d.dir.Bucket(idn.id, idn.code, meta); err == nil {
				d.loc = d.b.Dir()
			}
		}
		d.ctr = tierRecord(d.c.run, d.c.rid, d.kind(), d.loc, idn.print.Basis)
		if err != nil {
			d.c.tierFail(d.kind(), d.ctr, "persisting: "+err.Error())
		}
	})
	return d.b
}

func (d *diskTier) lookup(key Key) ([]byte, time.Time, bool, MissKind) {
	b := d.open()
	if b == nil {
		return nil, time.Time{}, false, 0
	}
	data, expires, err := b.Get(key)
	switch {
	case err == nil:
		d.ctr[wire.TierHits].Add(1)
		return data, expires, true, 0
	case errors.Is(err, diskstore.ErrNotFound):
		d.ctr[wire.TierMisses].Add(1)
		if b.Stale() && b.InStale(key) {
			d.ctr[wire.TierCodeChanged].Add(1)
			return nil, time.Time{}, false, MissCodeChanged
		}
	case errors.Is(err, diskstore.ErrExpired):
		d.ctr[wire.TierMisses].Add(1)
		return nil, time.Time{}, false, MissExpired
	default:
		d.c.tierFail(d.kind(), d.ctr, err.Error())
	}
	return nil, time.Time{}, false, 0
}

func (d *diskTier) write(key Key, payload []byte, expires time.Time) {
	b := d.open()
	if b == nil {
		return
	}
	if d.maxSize > 0 && int64(len(payload)) > d.maxSize {
		d.c.tierFail(d.kind(), d.ctr, fmt.Sprintf("not persisted: results over a quarter of the directory's bound (%d bytes; PersistMaxBytes)", d.maxSize))
		return
	}
	if err := b.Put(key, payload, expires); err != nil {
		d.c.tierFail(d.kind(), d.ctr, err.Error())
		return
	}
	d.ctr[wire.TierWrites].Add(1)
	d.ctr[wire.TierWriteBytes].Add(int64(len(payload)))
}

func (d *diskTier) forget(key Key) bool {
	if b := d.open(); b != nil {
		return b.Remove(key)
	}
	return false
}

func (d *diskTier) clear() {
	if b := d.open(); b != nil {
		b.Clear()
	}
}

func (d *diskTier) fail(msg string) {
	d.open()
	d.c.tierFail(d.kind(), d.ctr, msg)
}

func (d *diskTier) stats() TierStats {
	d.open()
	return d.ctr.stats("disk", d.loc, d.idn().print.Basis)
}
