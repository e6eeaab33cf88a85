package cacheruntime

import (
	"testing"
	"unsafe"
)

// closurePtr returns the object a func value points to: its closure.
func closurePtr[F any](f F) uintptr { return uintptr(*(*unsafe.Pointer)(unsafe.Pointer(&f))) }

// TestClosuresOwnTheirLines: the function each typed variant returns is
// a closure that every call reads; it must fill a 64-byte object, aligned
// to a cache line, so that no other object shares its line. (A 24-byte
// closure shared a line with testing.PB's counter in 5 of 12 processes of
// a RunParallel benchmark, and hits on two cores took twice as long.)
// Objects of 32 or 48 bytes would be misaligned every second or third
// time: 16 of each variant are checked.
func TestClosuresOwnTheirLines(t *testing.T) {
	id := func(a int) int { return a }
	idE := func(a int) (int, error) { return a, nil }
	variants := map[string]func() uintptr{
		"Func0":  func() uintptr { return closurePtr(Func0(func() int { return 1 }, NoReport())) },
		"Func1":  func() uintptr { return closurePtr(Func1(id, NoReport())) },
		"Func2":  func() uintptr { return closurePtr(Func2(func(a int, b string) int { return a }, NoReport())) },
		"Func3":  func() uintptr { return closurePtr(Func3(func(a, b, c int) int { return a }, NoReport())) },
		"Func0E": func() uintptr { return closurePtr(Func0E(func() (int, error) { return 1, nil }, NoReport())) },
		"Func1E": func() uintptr { return closurePtr(Func1E(idE, NoReport())) },
		"Func2E": func() uintptr {
			return closurePtr(Func2E(func(a int, b string) (int, error) { return a, nil }, NoReport()))
		},
		"Func3E": func() uintptr {
			return closurePtr(Func3E(func(a, b, c int) (int, error) { return a, nil }, NoReport()))
		},
	}
	for name, mk := range variants {
		for i := range 16 {
			if p := mk(); p%64 != 0 {
				t.Errorf("%s #%d: closure at %#x, %d bytes into a cache line", name, i, p, p%64)
				break
			}
		}
	}
}

// TestHotObjectsOwnTheirLines: what a hit reads besides the closure — the
// shard's table and its slots, the list of call sites, the key's direct
// fields — fills whole, aligned cache lines, and a shard keeps its table
// pointer on a line of its own.
func TestHotObjectsOwnTheirLines(t *testing.T) {
	for _, s := range []struct {
		name string
		size uintptr
	}{
		{"table", unsafe.Sizeof(table{})},
		{"siteList", unsafe.Sizeof(siteList{})},
		{"shard", unsafe.Sizeof(shard{})},
	} {
		if s.size%64 != 0 {
			t.Errorf("%s is %d bytes, not whole cache lines", s.name, s.size)
		}
	}
	if off := unsafe.Offsetof(shard{}.mu); off < 64 {
		t.Errorf("shard.mu at offset %d: on the line of shard.tab", off)
	}
	if tail := unsafe.Sizeof(shard{}) - unsafe.Offsetof(shard{}.cond) - unsafe.Sizeof(shard{}.cond); tail < 56 {
		t.Errorf("shard ends %d bytes after cond: the next shard's tab may share cond's line", tail)
	}

	for i := range 8 {
		var h Handle
		f := Func2(func(a int, b string) int { return a + len(b) }, NoReport(), WithHandle(&h))
		f(i, "x")
		c := h.c.Load()
		l := c.sites.list.Load()
		if p := uintptr(unsafe.Pointer(l)); p%64 != 0 {
			t.Errorf("site list at %#x", p)
		}
		if p := uintptr(unsafe.Pointer(&l.pcs[0])); p%64 != 0 || cap(l.pcs)*int(unsafe.Sizeof(pcSite{}))%64 != 0 {
			t.Errorf("site list's array at %#x, capacity %d", p, cap(l.pcs))
		}
		if p := uintptr(unsafe.Pointer(&c.direct[0])); p%64 != 0 || cap(c.direct)*int(unsafe.Sizeof(directField{}))%64 != 0 {
			t.Errorf("direct key fields at %#x, capacity %d", p, cap(c.direct))
		}
		for j := range c.shards {
			tab := c.shards[j].tab.Load()
			if tab == nil {
				continue
			}
			if p := uintptr(unsafe.Pointer(tab)); p%64 != 0 {
				t.Errorf("table at %#x", p)
			}
			if p := uintptr(unsafe.Pointer(&tab.slots[0])); p%64 != 0 {
				t.Errorf("slots at %#x", p)
			}
		}
	}
}
