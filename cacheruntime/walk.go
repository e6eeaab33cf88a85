package cacheruntime

import (
	"math"
	"reflect"
	"slices"
	"sync"
	"unsafe"
)

// The walk hashes referenced objects of types that may cycle without
// recursion. Each object is hashed as a Merkle node: its direct content
// first (compiled functions, which stop at references and record them as
// the object's children), then each child's hash folded in, in order. The
// pending objects live in an explicit stack of frames on the heap.
//
// Value semantics with cycles and sharing:
//   - A child that is an object on the current path (an ancestor frame) is
//     a back reference: it hashes as its distance up the path. Two cyclic
//     values are equal when they unfold alike with back references at the
//     same distances.
//   - An object whose subtree holds no back reference (no cycle) has a hash
//     that does not depend on where it is reached from: it is memoized by
//     (address, type, length), so shared objects are walked once and a value
//     hashes the same however its acyclic parts are shared. Objects on
//     cycles are walked again from each place they are reached, within a
//     budget.
//   - Map entries are hashed one by one with fresh lanes and summed, so a
//     map's hash does not depend on iteration order.
//
// If the work exceeds a budget (sharing among objects on cycles, which
// cannot be memoized), the hash restarts in graph mode, which numbers
// objects in visit order: linear, but then equal values can hash differently
// (a miss, never a wrong hit).

// A kid is a referenced object recorded during a direct pass.
type kid struct {
	p    unsafe.Pointer
	c    *compiled // the object's type (kidObject), element type (kidSlice) or map type (kidMap)
	key  refKey    // identity; key.p == 0 for objects without one (boxed values)
	kind uint8
}

const (
	kidObject uint8 = iota // a pointer target or a boxed value: c.fn at p
	kidSlice               // key.n elements of c at p
	kidMap                 // a map; p is the map itself
	kidEntry               // a map entry (frames only)
)

// A frame is an object whose children are being hashed. Frames hold no
// pointers, so a deep walk's stack of them costs the collector nothing.
type frame struct {
	a, b   uint64
	obj    int32 // its index in walk.objs, or -1 for objects without identity
	lo, hi int32 // its children in walk.kids
	next   int32 // the next child to hash
	minRef int32 // the lowest frame a back reference in the subtree points to; MaxInt32 if none
	m      int32 // for maps: the iteration in progress, in walk.active; else -1
	kind   uint8
}

// mapWalk is a map being hashed entry by entry.
type mapWalk struct {
	cell   unsafe.Pointer // holds the map, so a reflect.Value can refer to it
	it     reflect.MapIter
	k, v   reflect.Value // scratch copies of the current entry
	kc, vc *compiled
	sa, sb uint64 // the sum of the entry hashes
	n      int
}

// walk is the heap state of one hash computation's explicit walk.
type walk struct {
	kids   []kid
	frames []frame
	objs   objTable   // every object met: on the path, memoized, or (graph mode) numbered
	visits int        // objects walked again
	active []*mapWalk // maps being hashed (frame.m)
	maps   []*mapWalk // free list
}

// objTable maps object identities to their state in the walk. It is an
// open-addressing table of indexes into a dense array: one probe sequence
// per object met, no deletions (an object leaves the path by a state
// change), and reusable without reallocating. Each slot also holds 32 bits
// of the key's hash, so a probe reads the dense array only on a likely
// match: meeting a new object costs one random memory access.
type objTable struct {
	slots []uint64 // index+1 into objs (low 32 bits; 0 is empty) and a hash tag (high 32)
	objs  []objState
}

// objState is what the walk knows about an object.
type objState struct {
	key   refKey
	state int32 // >= 0: on the path at this frame; stMemo: hashed; stOff: neither
	a, b  uint64
}

const (
	stMemo int32 = -1 // a, b hold its hash (or, in graph mode, a its number)
	stOff  int32 = -2 // walked before, but its hash depends on where it was reached
)

func (t *objTable) hashKey(k refKey) uint64 {
	return mix(uint64(k.p)^uint64(k.t)*k3^uint64(k.n)*k4, k1)
}

// find returns the index of k's state, or -1.
func (t *objTable) find(k refKey) int {
	if len(t.slots) == 0 {
		return -1
	}
	h := t.hashKey(k)
	tag := h >> 32
	mask := uint64(len(t.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := t.slots[i]
		if s == 0 {
			return -1
		}
		if s>>32 == tag && t.objs[uint32(s)-1].key == k {
			return int(uint32(s) - 1)
		}
	}
}

// add records k (not in the table) with a state and returns its index.
func (t *objTable) add(k refKey, state int32) int {
	if 2*(len(t.objs)+1) > len(t.slots) {
		t.grow()
	}
	if len(t.objs) == cap(t.objs) {
		t.objs = slices.Grow(t.objs, len(t.objs)+1) // doubles: append grows large slices by 1.25x
	}
	t.objs = append(t.objs, objState{key: k, state: state})
	t.insert(t.hashKey(k), uint32(len(t.objs)))
	return len(t.objs) - 1
}

func (t *objTable) insert(h uint64, idx uint32) {
	mask := uint64(len(t.slots) - 1)
	i := h & mask
	for t.slots[i] != 0 {
		i = (i + 1) & mask
	}
	t.slots[i] = h>>32<<32 | uint64(idx)
}

func (t *objTable) grow() {
	t.slots = make([]uint64, max(2*len(t.slots), 64))
	for j := range t.objs {
		t.insert(t.hashKey(t.objs[j].key), uint32(j+1))
	}
}

func (t *objTable) reset() {
	clear(t.slots)
	clear(t.objs)
	t.objs = t.objs[:0]
}

// walkBudget is the number of objects walked again (beyond eight per
// distinct object), before the walk falls back to graph mode.
const walkBudget = 1 << 16

var walks = sync.Pool{New: func() any { return new(walk) }}

// child records a referenced object of the value being hashed.
func (h *hstate) child(k kid) {
	if h.w == nil {
		if h.keep != nil {
			h.w = h.keep
		} else {
			h.w = walks.Get().(*walk)
		}
	}
	h.w.kids = append(h.w.kids, k)
}

// release returns the walk state to the pool (or, for a kept walk, readies
// it for the next hash).
func (h *hstate) release() {
	w := h.w
	if w == nil {
		return
	}
	h.w = nil
	for _, m := range w.active {
		m.reset()
	}
	clear(w.active)
	w.active = w.active[:0]
	if w == h.keep {
		// Keep the memo (every memoized object's hash is valid from any
		// root); objects left on the path of an aborted walk are off it.
		for _, f := range w.frames {
			if f.obj >= 0 && w.objs.objs[f.obj].state >= 0 {
				w.objs.objs[f.obj].state = stOff
			}
		}
		clear(w.kids)
		w.kids = w.kids[:0]
		w.frames = w.frames[:0]
		return
	}
	clear(w.kids[:cap(w.kids)])
	w.kids = w.kids[:0]
	w.frames = w.frames[:0]
	// Large walks are kept too: the pool lets go of them at the next
	// garbage collections, and a program that hashes big values again
	// does not grow them from nothing every time.
	w.objs.reset()
	w.visits = 0
	walks.Put(w)
}

// drain hashes the children recorded so far (and theirs), folding them into
// h's lanes in order.
func (h *hstate) drain() {
	w := h.w
	if w == nil || len(w.kids) == 0 {
		return
	}
	w.frames = append(w.frames[:0], frame{a: h.a, b: h.b, obj: -1, hi: int32(len(w.kids)), minRef: math.MaxInt32, m: -1})
	for {
		top := len(w.frames) - 1
		f := &w.frames[top]
		if f.m >= 0 {
			if h.nextEntry(f) {
				continue
			}
		} else if f.next < f.hi {
			k := w.kids[f.next]
			f.next++
			obj := int32(-1)
			if k.key.p != 0 {
				var done bool
				if obj, done = h.known(f, top, k.key); done {
					continue
				}
			}
			if f.next == f.hi {
				// The frame's last child: its slots in the kid stack are
				// free for the child's own, so a chain of objects keeps
				// the kid stack short.
				clear(w.kids[f.lo:f.hi])
				w.kids = w.kids[:f.lo]
				f.next, f.hi = f.lo, f.lo
			}
			h.push(k, obj)
			continue
		}
		// f is finished.
		va, vb := f.a, f.b
		if f.m >= 0 {
			m := w.active[f.m]
			w.active[f.m] = nil
			w.active = w.active[:f.m]
			sa, sb, n := m.sa, m.sb, m.n
			m.reset()
			w.maps = append(w.maps, m)
			h.a, h.b = k1^0x3a9, k2
			h.word(uint64(n) + 1)
			h.word(sa)
			if h.two {
				h.b = mix(h.b^sb, k4)
			}
			va, vb = h.a, h.b
		}
		obj, minRef, lo, kind := f.obj, f.minRef, f.lo, f.kind
		clear(w.kids[lo:])
		w.kids = w.kids[:lo]
		w.frames = w.frames[:top]
		if top == 0 {
			h.a, h.b = va, vb
			return
		}
		if obj >= 0 && !h.graph {
			// Memoize only an object whose subtree has no back reference
			// at all: its hash is then the same from every root. One that
			// lies on a cycle — even a cycle through itself only — hashes
			// differently when reached from another object of the cycle
			// (which is then the one a back reference points to).
			o := &w.objs.objs[obj]
			if minRef == math.MaxInt32 {
				o.state, o.a, o.b = stMemo, va, vb
			} else {
				o.state = stOff
			}
		}
		p := &w.frames[top-1]
		p.minRef = min(p.minRef, minRef)
		if kind == kidEntry {
			m := w.active[p.m]
			m.sa += va
			m.sb += vb
			m.n++
		} else {
			p.a = mix(p.a^va, k3)
			if h.two {
				p.b = mix(p.b^vb^k5, k4)
			}
		}
	}
}

// known folds a child that needs no walk of its own into the frame f at
// index top — a back reference, a memoized object or, in graph mode, an
// object already numbered — and reports done. Otherwise it marks the child
// as on the path (or numbers it) and returns its index in the table.
func (h *hstate) known(f *frame, top int, key refKey) (obj int32, done bool) {
	w := h.w
	i := w.objs.find(key)
	if h.graph {
		if i >= 0 {
			f.foldWord(h.two, 0xb4c0^w.objs.objs[i].a)
			return int32(i), true
		}
		i = w.objs.add(key, stMemo)
		w.objs.objs[i].a = uint64(i)
		return int32(i), false
	}
	if i >= 0 {
		o := &w.objs.objs[i]
		switch {
		case o.state >= 0:
			f.foldWord(h.two, 0xb4c1^uint64(top+1-int(o.state)))
			f.minRef = min(f.minRef, o.state)
			return int32(i), true
		case o.state == stMemo:
			f.a = mix(f.a^o.a, k3)
			if h.two {
				f.b = mix(f.b^o.b^k5, k4)
			}
			return int32(i), true
		}
	}
	if i >= 0 {
		// Walked before, but its hash depended on where it was reached
		// (it refers above itself): walk it again, within a budget.
		w.visits++
		if w.visits > walkBudget+8*len(w.objs.objs) {
			h.abort(&hashFailure{complex: true})
		}
		w.objs.objs[i].state = int32(top + 1)
		return int32(i), false
	}
	return int32(w.objs.add(key, int32(top+1))), false
}

func (f *frame) foldWord(two bool, x uint64) {
	f.a = mix(f.a^x, k3)
	if two {
		f.b = mix(f.b^x^k5, k4)
	}
}

// push starts a frame for k: its direct content is hashed now, its children
// recorded after the current ones.
func (h *hstate) push(k kid, obj int32) {
	w := h.w
	lo := int32(len(w.kids))
	fr := frame{obj: obj, lo: lo, hi: lo, next: lo, minRef: math.MaxInt32, m: -1, kind: k.kind}
	if k.kind == kidMap {
		fr.m = int32(len(w.active))
		w.active = append(w.active, h.startMap(k))
		w.pushFrame(fr)
		return
	}
	sa, sb := h.a, h.b
	h.a, h.b = k1^uint64(k.kind), k2
	switch k.kind {
	case kidObject:
		k.c.fn(h, k.p)
	case kidSlice:
		size := k.c.info.t.Size()
		for i := range k.key.n {
			k.c.fn(h, unsafe.Add(k.p, uintptr(i)*size))
		}
	}
	fr.a, fr.b = h.a, h.b
	h.a, h.b = sa, sb
	fr.hi = int32(len(w.kids))
	w.pushFrame(fr)
}

// pushFrame appends fr, doubling the frame stack when it is full (append
// grows large slices by only 1.25x, which copies a deep stack many times).
func (w *walk) pushFrame(fr frame) {
	if len(w.frames) == cap(w.frames) {
		w.frames = slices.Grow(w.frames, len(w.frames))
	}
	w.frames = append(w.frames, fr)
}

func (h *hstate) startMap(k kid) *mapWalk {
	w := h.w
	var m *mapWalk
	t := k.c.info.t
	if n := len(w.maps); n > 0 && w.maps[n-1].k.Type() == t.Key() && w.maps[n-1].v.Type() == t.Elem() {
		m = w.maps[n-1]
		w.maps[n-1] = nil
		w.maps = w.maps[:n-1]
	} else {
		m = &mapWalk{k: reflect.New(t.Key()).Elem(), v: reflect.New(t.Elem()).Elem()}
	}
	m.kc, m.vc = k.c.kc, k.c.vc
	m.cell = k.p
	m.it.Reset(reflect.NewAt(t, unsafe.Pointer(&m.cell)).Elem())
	return m
}

func (m *mapWalk) reset() {
	m.it.Reset(reflect.Value{})
	m.k.SetZero()
	m.v.SetZero()
	m.cell = nil
	m.sa, m.sb, m.n = 0, 0, 0
}

// nextEntry pushes a frame for the next entry of the map frame f, or
// reports false when the map is done.
func (h *hstate) nextEntry(f *frame) bool {
	w := h.w
	m := w.active[f.m]
	if !m.it.Next() {
		return false
	}
	m.k.SetIterKey(&m.it)
	m.v.SetIterValue(&m.it)
	lo := int32(len(w.kids))
	fr := frame{obj: -1, lo: lo, next: lo, minRef: math.MaxInt32, m: -1, kind: kidEntry}
	sa, sb := h.a, h.b
	h.a, h.b = k1, k2
	m.kc.fn(h, m.k.Addr().UnsafePointer())
	m.vc.fn(h, m.v.Addr().UnsafePointer())
	fr.a, fr.b = h.a, h.b
	h.a, h.b = sa, sb
	fr.hi = int32(len(w.kids))
	w.pushFrame(fr)
	return true
}
