package cacheruntime_test

// Property and differential tests of Hash and Clone over generated values
// of a rich type universe: pointers, shared and cyclic graphs, slices
// sharing backing arrays with different lengths and capacities, maps with
// NaN and ±0 keys, interfaces, unexported fields at every position,
// embedded structs, arrays, and a named plain type with and without a
// HashFunc.
//
// The reference equality below is written independently of the hash: slow,
// recursive, obviously following the documented rules (see doc.go):
//   - values compare as trees: pointers are followed, slices and strings by
//     content, maps as sets of entries, interfaces by dynamic type and value,
//     every struct field counts (unexported too) except those of type
//     context.Context;
//   - floats by value: -0 equals +0, every NaN equals every NaN;
//   - a reference back to an object on the current path (a cycle) equals a
//     reference back the same number of objects up the other value's path;
//   - a HashFunc replaces its type's values by what it returns.

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/cachelens/cachelens/cacheruntime"
)

type pleaf struct {
	X int
	y *int
	F float64
}

type pemb struct {
	Tag string
	n   int8
}

type pnode struct {
	I   int
	F   float64
	f32 float32
	S   string
	b   []byte
	P   *pnode
	L   []*pnode
	M   map[string]*pnode
	K   map[float64]int
	A   any
	arr [2]pleaf
	pemb
	ID  UserID
	ids []UserID
	sub []pleaf
	m   map[int]any
}

// gen builds values from bytes; building twice from the same bytes gives
// equal values in separate memory.
type gen struct {
	data []byte
	i    int
	// unshare gives each pleaf.y its own int instead of one shared int:
	// equal as trees, shared differently.
	unshare bool
}

func (g *gen) byte() byte {
	if g.i >= len(g.data) {
		g.i++
		return byte(g.i * 7)
	}
	b := g.data[g.i]
	g.i++
	return b
}

func (g *gen) pick(n int) int { return int(g.byte()) % n }

var specialFloats = []float64{0, math.Copysign(0, -1), math.NaN(), math.Float64frombits(0x7ff8000000000042), 1.5, -1.5, math.Inf(1), 1e-300}

var strs = []string{"", "a", "ab", "ba", string(bytes.Repeat([]byte("long"), 30))}

func (g *gen) float() float64 { return specialFloats[g.pick(len(specialFloats))] }

func (g *gen) root() *pnode {
	k := 1 + g.pick(5)
	nodes := make([]*pnode, k)
	for i := range nodes {
		nodes[i] = new(pnode)
	}
	shared := new(int)
	*shared = g.pick(3)
	backing := make([]*pnode, 6)
	for i := range backing {
		if g.pick(4) > 0 {
			backing[i] = nodes[g.pick(k)]
		}
	}
	leaves := make([]pleaf, 6)
	for i := range leaves {
		leaves[i] = pleaf{X: g.pick(4), F: g.float()}
	}
	ptr := func() *pnode {
		if g.pick(3) == 0 {
			return nil
		}
		return nodes[g.pick(k)]
	}
	intPtr := func() *int {
		switch g.pick(3) {
		case 0:
			return nil
		case 1:
			if g.unshare {
				v := *shared
				return &v
			}
			return shared
		}
		v := g.pick(3)
		return &v
	}
	for _, n := range nodes {
		n.I = g.pick(4)
		n.F = g.float()
		n.f32 = float32(g.float())
		n.S = strs[g.pick(len(strs))]
		switch g.pick(3) {
		case 1:
			n.b = []byte{}
		case 2:
			n.b = []byte(strs[g.pick(len(strs))])
		}
		n.P = ptr()
		if g.pick(3) > 0 {
			lo := g.pick(3)
			hi := lo + g.pick(4)
			max := hi + g.pick(6-hi+1)
			n.L = backing[lo:hi:max]
		}
		if g.pick(2) == 0 {
			n.M = map[string]*pnode{}
			for range g.pick(3) {
				n.M[strs[g.pick(len(strs))]] = ptr()
			}
		}
		if g.pick(2) == 0 {
			n.K = map[float64]int{}
			for range g.pick(4) {
				n.K[g.float()] = g.pick(3)
			}
		}
		n.A = g.iface(nodes)
		n.arr = [2]pleaf{{X: g.pick(3), y: intPtr(), F: g.float()}, {X: g.pick(3), y: intPtr()}}
		n.pemb = pemb{Tag: strs[g.pick(len(strs))], n: int8(g.pick(3))}
		n.ID = UserID(g.pick(6))
		if g.pick(2) == 0 {
			n.ids = []UserID{UserID(g.pick(6)), UserID(g.pick(6))}[:g.pick(3)]
		}
		if g.pick(2) == 0 {
			lo := g.pick(3)
			hi := lo + g.pick(4)
			n.sub = leaves[lo : hi : hi+g.pick(6-hi+1)]
		}
		if g.pick(3) == 0 {
			n.m = map[int]any{g.pick(3): g.iface(nodes), 7: g.iface(nodes)}
		}
	}
	return nodes[0]
}

func (g *gen) iface(nodes []*pnode) any {
	switch g.pick(9) {
	case 0:
		return nil
	case 1:
		return g.pick(3)
	case 2:
		return int64(g.pick(3))
	case 3:
		return strs[g.pick(len(strs))]
	case 4:
		return nodes[g.pick(len(nodes))]
	case 5:
		return []any{g.pick(2), nodes[g.pick(len(nodes))]}
	case 6:
		return pleaf{X: g.pick(3), F: g.float()}
	case 7:
		return map[string]any{"k": g.pick(2)}
	}
	return (*pnode)(nil)
}

// refEqual is the reference structural equality. mod, when not zero, is
// the HashFunc for UserID used in the test: UserIDs compare modulo it.
type refEqual struct {
	mod       int
	pathA     []uintptr // objects on the current path of a (address ^ type)
	pathB     []uintptr
	userIDTyp reflect.Type
}

func newRefEqual(mod int) *refEqual {
	return &refEqual{mod: mod, userIDTyp: reflect.TypeFor[UserID]()}
}

func objID(v reflect.Value) uintptr {
	var p uintptr
	switch v.Kind() {
	case reflect.Pointer, reflect.Map:
		p = uintptr(v.UnsafePointer())
	case reflect.Slice:
		p = uintptr(v.UnsafePointer())*31 + uintptr(v.Len())
	}
	t := v.Type()
	return p ^ uintptr((*[2]unsafe.Pointer)(unsafe.Pointer(&t))[1])*16777619
}

func (r *refEqual) equal(a, b reflect.Value) bool {
	if a.Type() != b.Type() {
		return false
	}
	t := a.Type()
	if r.mod != 0 && t == r.userIDTyp {
		return int(a.Int())%r.mod == int(b.Int())%r.mod
	}
	switch t.Kind() {
	case reflect.Bool:
		return a.Bool() == b.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return a.Int() == b.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return a.Uint() == b.Uint()
	case reflect.Float32, reflect.Float64:
		x, y := a.Float(), b.Float()
		return x == y || x != x && y != y
	case reflect.String:
		return a.String() == b.String()
	case reflect.Array:
		for i := range a.Len() {
			if !r.equal(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			if f.Name == "_" || f.Type.Kind() == reflect.Interface && f.Type.Implements(reflect.TypeFor[context.Context]()) {
				continue
			}
			if !r.equal(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	case reflect.Interface:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return r.equal(a.Elem(), b.Elem())
	case reflect.Pointer, reflect.Slice, reflect.Map:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		if t.Kind() == reflect.Slice && a.Len() != b.Len() || t.Kind() == reflect.Map && a.Len() != b.Len() {
			return false
		}
		if t.Kind() == reflect.Slice && a.Len() == 0 {
			return true
		}
		ia, ib := slices.Index(r.pathA, objID(a)), slices.Index(r.pathB, objID(b))
		if ia >= 0 || ib >= 0 {
			return ia >= 0 && ib >= 0 && len(r.pathA)-ia == len(r.pathB)-ib
		}
		r.pathA, r.pathB = append(r.pathA, objID(a)), append(r.pathB, objID(b))
		defer func() { r.pathA, r.pathB = r.pathA[:len(r.pathA)-1], r.pathB[:len(r.pathB)-1] }()
		switch t.Kind() {
		case reflect.Pointer:
			return r.equal(a.Elem(), b.Elem())
		case reflect.Slice:
			for i := range a.Len() {
				if !r.equal(a.Index(i), b.Index(i)) {
					return false
				}
			}
			return true
		}
		// Maps: a bijection between entries with equal keys and values.
		var ka, va, kb, vb []reflect.Value
		for it := a.MapRange(); it.Next(); {
			ka, va = append(ka, it.Key()), append(va, it.Value())
		}
		for it := b.MapRange(); it.Next(); {
			kb, vb = append(kb, it.Key()), append(vb, it.Value())
		}
		used := make([]bool, len(kb))
	entries:
		for i := range ka {
			for j := range kb {
				if !used[j] && r.equal(ka[i], kb[j]) && r.equal(va[i], vb[j]) {
					used[j] = true
					continue entries
				}
			}
			return false
		}
		return true
	}
	panic(fmt.Sprintf("refEqual: unexpected kind %s", t.Kind()))
}

// A location is a settable part of a value: commit writes it back where
// it lives (map values are set through a copy).
type location struct {
	v      reflect.Value
	commit func()
}

// locations lists the settable parts reachable from v, each once.
func locations(v reflect.Value) []location {
	var out []location
	seen := map[uintptr]bool{}
	var walk func(v reflect.Value, commit func())
	walk = func(v reflect.Value, commit func()) {
		if v.CanAddr() {
			v = reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem() // writable even if unexported
		}
		add := func() {
			if v.CanSet() {
				out = append(out, location{v, commit})
			}
		}
		switch v.Kind() {
		case reflect.Pointer:
			add()
			if v.IsNil() || seen[uintptr(v.UnsafePointer())] {
				return
			}
			seen[uintptr(v.UnsafePointer())] = true
			walk(v.Elem(), func() {})
		case reflect.Struct:
			for i := range v.NumField() {
				walk(v.Field(i), commit)
			}
		case reflect.Array:
			for i := range v.Len() {
				walk(v.Index(i), commit)
			}
		case reflect.Slice:
			add()
			if v.IsNil() || v.Len() == 0 || seen[uintptr(v.UnsafePointer())^uintptr(uint64(v.Len())<<48)] {
				return
			}
			seen[uintptr(v.UnsafePointer())^uintptr(uint64(v.Len())<<48)] = true
			for i := range v.Len() {
				walk(v.Index(i), func() {})
			}
		case reflect.Map:
			add()
			if v.IsNil() || seen[uintptr(v.UnsafePointer())] {
				return
			}
			seen[uintptr(v.UnsafePointer())] = true
			m := reflect.New(v.Type()).Elem()
			m.Set(v) // the map itself, even if its field is changed later
			for it := v.MapRange(); it.Next(); {
				k := it.Key()
				if k.Kind() == reflect.Float64 && k.Float() != k.Float() {
					continue // a NaN key's entry cannot be written back
				}
				e := reflect.New(v.Type().Elem()).Elem()
				e.Set(it.Value())
				walk(e, func() { m.SetMapIndex(k, e) })
			}
		default:
			add()
		}
	}
	walk(v, func() {})
	return out
}

// change changes loc in a way chosen by how: some changes keep the value
// equal under the rules (0 → -0, one NaN for another, +3 to a UserID with a
// mod-3 HashFunc), most do not.
func change(loc reflect.Value, how byte) {
	switch loc.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		loc.SetInt(loc.Int() + int64(1+2*(how%2)))
	case reflect.Float32, reflect.Float64:
		f := loc.Float()
		switch {
		case how%3 == 0 && f == 0:
			loc.SetFloat(math.Copysign(0, -math.Copysign(1, f)))
		case how%3 == 1 && f != f:
			loc.SetFloat(math.Float64frombits(0x7ff8000000000099))
		default:
			loc.SetFloat(f + 1)
		}
	case reflect.String:
		loc.SetString(loc.String() + "x")
	case reflect.Bool:
		loc.SetBool(!loc.Bool())
	case reflect.Uint8:
		loc.SetUint(loc.Uint() + 1)
	case reflect.Pointer, reflect.Map, reflect.Interface:
		if !loc.IsNil() {
			loc.SetZero()
		} else if loc.Kind() == reflect.Interface {
			loc.Set(reflect.ValueOf(int(how)))
		}
	case reflect.Slice:
		switch {
		case loc.IsNil():
			loc.Set(reflect.MakeSlice(loc.Type(), 0, 0))
		case loc.Len() > 0:
			loc.Set(loc.Slice(0, loc.Len()-1))
		default:
			loc.SetZero()
		}
	}
}

func hashOf(t *testing.T, v any, opts ...cacheruntime.Option) cacheruntime.Key {
	t.Helper()
	k, err := cacheruntime.Hash(v, opts...)
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	return k
}

// checkHashProperty builds a value twice from data (the second time
// possibly with different sharing of acyclic parts), checks they hash
// equal, mutates the second at a chosen location and checks that the
// hashes are equal exactly when the reference equality says so, with and
// without a HashFunc.
func checkHashProperty(t *testing.T, data []byte, sel, how byte, unshare bool) {
	a := (&gen{data: data}).root()
	b := (&gen{data: data, unshare: unshare}).root()
	mod3 := cacheruntime.HashFunc(func(u UserID) any { return int(u) % 3 })
	for _, mod := range []int{0, 3} {
		var opts []cacheruntime.Option
		if mod != 0 {
			opts = append(opts, mod3)
		}
		if !newRefEqual(mod).equal(reflect.ValueOf(a), reflect.ValueOf(b)) {
			t.Fatalf("generator: values built alike are not equal")
		}
		if hashOf(t, a, opts...) != hashOf(t, b, opts...) {
			a1, a2, b1, b2 := hashOf(t, a, opts...), hashOf(t, a, opts...), hashOf(t, b, opts...), hashOf(t, b, opts...)
			t.Errorf("again: a %v b %v ab %v", a1 == a2, b1 == b2, a1 == b1)
			t.Fatalf("equal values hash differently (HashFunc mod %d, unshare %v)", mod, unshare)
		}
	}
	locs := locations(reflect.ValueOf(&b).Elem())
	if len(locs) == 0 {
		return
	}
	loc := locs[int(sel)%len(locs)]
	change(loc.v, how)
	loc.commit()
	for _, mod := range []int{0, 3} {
		var opts []cacheruntime.Option
		if mod != 0 {
			opts = append(opts, mod3)
		}
		want := newRefEqual(mod).equal(reflect.ValueOf(a), reflect.ValueOf(b))
		got := hashOf(t, a, opts...) == hashOf(t, b, opts...)
		if got != want {
			t.Fatalf("after changing %s (%s): hashes equal = %v, reference equality = %v (HashFunc mod %d)",
				loc.v.Type(), loc.v.Kind(), got, want, mod)
		}
	}
}

// cloneCheck checks the three properties of Clone(v): the copy equals v
// (bit for bit, as a representation), shares no mutable memory with it
// (every reachable location of the copy is changed, and v stays as it
// was), and preserves aliasing (objects shared in v are shared in the copy,
// objects distinct in v are distinct).
func checkCloneProperty(t *testing.T, data []byte) {
	v := (&gen{data: data}).root()
	before := represent(reflect.ValueOf(v))
	c := cacheruntime.Clone(v)
	if got := represent(reflect.ValueOf(c)); got != before {
		i := 0
		for i < len(before) && i < len(got) && before[i] == got[i] {
			i++
		}
		lo := max(0, i-150)
		t.Fatalf("clone differs from the original at byte %d:\n%q\n%q", i, before[lo:min(len(before), i+80)], got[lo:min(len(got), i+80)])
	}
	if msg := aliasing(reflect.ValueOf(v), reflect.ValueOf(c)); msg != "" {
		t.Fatal(msg)
	}
	for i, loc := range locations(reflect.ValueOf(&c).Elem()) {
		if i == 0 {
			continue // c itself
		}
		change(loc.v, byte(i))
		loc.commit()
	}
	if after := represent(reflect.ValueOf(v)); after != before {
		i := 0
		for i < len(before) && i < len(after) && before[i] == after[i] {
			i++
		}
		lo := max(0, i-150)
		t.Fatalf("changing the clone changed the original at byte %d:\n%q\n%q", i, before[lo:min(len(before), i+80)], after[lo:min(len(after), i+80)])
	}
}

// represent renders a value bit for bit (floats by bits, references as
// visit numbers, so cycles terminate and sharing shows).
func represent(v reflect.Value) string {
	ids := map[[2]uintptr]int{}
	var walk func(buf *bytes.Buffer, v reflect.Value)
	walk = func(buf *bytes.Buffer, v reflect.Value) {
		switch v.Kind() {
		case reflect.Float32, reflect.Float64:
			binary.Write(buf, binary.LittleEndian, math.Float64bits(v.Float()))
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			fmt.Fprint(buf, v.Int(), ",")
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			fmt.Fprint(buf, v.Uint(), ",")
		case reflect.String:
			fmt.Fprintf(buf, "%q", v.String())
		case reflect.Bool:
			fmt.Fprint(buf, v.Bool())
		case reflect.Struct:
			buf.WriteString("{")
			for i := range v.NumField() {
				walk(buf, v.Field(i))
			}
			buf.WriteString("}")
		case reflect.Array:
			for i := range v.Len() {
				walk(buf, v.Index(i))
			}
		case reflect.Interface:
			if v.IsNil() {
				buf.WriteString("nil")
				return
			}
			buf.WriteString(v.Elem().Type().String())
			walk(buf, v.Elem())
		case reflect.Pointer, reflect.Map, reflect.Slice:
			if v.IsNil() {
				buf.WriteString("nil")
				return
			}
			if v.Kind() == reflect.Slice && v.Cap() == 0 {
				buf.WriteString("[0/0]") // no elements: nothing to share
				return
			}
			k := [2]uintptr{uintptr(v.UnsafePointer()), 0}
			if v.Kind() == reflect.Slice {
				k[1] = uintptr(v.Len())
			}
			if id, ok := ids[k]; ok {
				fmt.Fprintf(buf, "@%d", id)
				return
			}
			ids[k] = len(ids)
			fmt.Fprintf(buf, "#%d", ids[k])
			switch v.Kind() {
			case reflect.Pointer:
				walk(buf, v.Elem())
			case reflect.Slice:
				fmt.Fprintf(buf, "[%d/%d]", v.Len(), v.Cap())
				for i := range v.Len() {
					walk(buf, v.Index(i))
				}
			case reflect.Map:
				// Entries in the order of their keys (which, in this
				// universe, hold no references), so visit numbers do not
				// depend on iteration order.
				// Equal keys (NaNs) are ordered by their values.
				type entry struct {
					key, order string
					v          reflect.Value
				}
				var es []entry
				for it := v.MapRange(); it.Next(); {
					var kb bytes.Buffer
					walk(&kb, it.Key())
					order := kb.String()
					if vv := it.Value(); vv.Kind() == reflect.Int {
						order += fmt.Sprint("=", vv.Int()) // NaN keys: by value
					}
					es = append(es, entry{kb.String(), order, it.Value()})
				}
				slices.SortStableFunc(es, func(a, b entry) int { return strings.Compare(a.order, b.order) })
				for _, e := range es {
					buf.WriteString(e.key + ":")
					walk(buf, e.v)
				}
			}
		}
	}
	var buf bytes.Buffer
	walk(&buf, v)
	return buf.String()
}

// aliasing walks v and its clone c in parallel and checks that the map
// from objects of v to objects of c is a bijection: pointer targets and
// maps by address, slices by start address.
func aliasing(v, c reflect.Value) string {
	fwd, back := map[[2]uintptr]uintptr{}, map[[2]uintptr]uintptr{}
	var walk func(v, c reflect.Value, path string) string
	walk = func(v, c reflect.Value, path string) string {
		switch v.Kind() {
		case reflect.Pointer, reflect.Map, reflect.Slice:
			if v.IsNil() || v.Kind() == reflect.Slice && v.Cap() == 0 {
				return ""
			}
			t := v.Type()
			tk := uintptr((*[2]unsafe.Pointer)(unsafe.Pointer(&t))[1])
			pv, pc := uintptr(v.UnsafePointer()), uintptr(c.UnsafePointer())
			if pv == pc {
				return path + ": shared with the original"
			}
			if q, ok := fwd[[2]uintptr{pv, tk}]; ok {
				if q != pc {
					return path + ": one object of the original became two in the copy"
				}
				return ""
			}
			if q, ok := back[[2]uintptr{pc, tk}]; ok && q != pv {
				return path + ": two objects of the original became one in the copy"
			}
			fwd[[2]uintptr{pv, tk}], back[[2]uintptr{pc, tk}] = pc, pv
			switch v.Kind() {
			case reflect.Pointer:
				return walk(v.Elem(), c.Elem(), path+"*")
			case reflect.Slice:
				for i := range v.Len() {
					if s := walk(v.Index(i), c.Index(i), fmt.Sprintf("%s[%d]", path, i)); s != "" {
						return s
					}
				}
			case reflect.Map:
				for it := v.MapRange(); it.Next(); {
					k := it.Key()
					if k.Kind() == reflect.Float64 && k.Float() != k.Float() {
						continue // NaN keys cannot be looked up
					}
					if s := walk(it.Value(), c.MapIndex(k), path+"[k]"); s != "" {
						return s
					}
				}
			}
		case reflect.Struct:
			for i := range v.NumField() {
				if s := walk(v.Field(i), c.Field(i), path+"."+v.Type().Field(i).Name); s != "" {
					return s
				}
			}
		case reflect.Array:
			for i := range v.Len() {
				if s := walk(v.Index(i), c.Index(i), path); s != "" {
					return s
				}
			}
		case reflect.Interface:
			if !v.IsNil() && !c.IsNil() {
				return walk(v.Elem(), c.Elem(), path)
			}
		}
		return ""
	}
	return walk(v, c, "")
}

// TestHashMatchesReferenceEquality runs the hash property over generated
// values from fixed seeds; FuzzHashProperty explores further.
func TestHashMatchesReferenceEquality(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	n := 3000
	if testing.Short() {
		n = 300
	}
	for i := range n {
		data := make([]byte, 20+rng.IntN(200))
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		sel, how := byte(rng.Uint32()), byte(rng.Uint32())
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			checkHashProperty(t, data, sel, how, i%3 == 0)
			if t.Failed() {
				t.Logf("data %x sel %d how %d", data, sel, how)
			}
		})
		if t.Failed() {
			return
		}
	}
}

// TestCloneProperties runs the Clone properties over generated values from
// fixed seeds; FuzzCloneProperty explores further.
func TestCloneProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	n := 2000
	if testing.Short() {
		n = 200
	}
	for i := range n {
		data := make([]byte, 20+rng.IntN(200))
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		t.Run(fmt.Sprint(i), func(t *testing.T) { checkCloneProperty(t, data) })
		if t.Failed() {
			return
		}
	}
}

func FuzzHashProperty(f *testing.F) {
	f.Add([]byte("hello, world: a value built from bytes"), byte(3), byte(0), false)
	f.Add(bytes.Repeat([]byte{0, 1, 2, 3, 4, 5, 6, 7}, 20), byte(17), byte(1), true)
	f.Add(bytes.Repeat([]byte{255, 128, 2}, 40), byte(200), byte(2), false)
	f.Add([]byte{}, byte(0), byte(0), true)
	f.Fuzz(func(t *testing.T, data []byte, sel, how byte, unshare bool) {
		checkHashProperty(t, data, sel, how, unshare)
	})
}

func FuzzCloneProperty(f *testing.F) {
	f.Add([]byte("hello, world: a value built from bytes"))
	f.Add(bytes.Repeat([]byte{0, 1, 2, 3, 4, 5, 6, 7}, 20))
	f.Add(bytes.Repeat([]byte{255, 128, 2}, 40))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) { checkCloneProperty(t, data) })
}
