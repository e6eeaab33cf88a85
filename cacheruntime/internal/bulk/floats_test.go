package bulk

import (
	"encoding/binary"
	"math"
	"testing"
)

// TestCanonicalFloats: each special value in each position of a 40-element
// slice (the assembly's 16-word blocks and the Go tail), on both paths.
func TestCanonicalFloats(t *testing.T) {
	for _, tc := range []struct {
		bits uint64
		ok   bool
	}{
		{0, true},
		{1 << 63, false}, // -0
		{CanonNaN, true},
		{0x7ff8000000000000, false}, // the usual quiet NaN
		{0xfff8000000000001, false}, // CanonNaN with the sign set
		{0x7ff0000000000001, false}, // a signalling NaN
		{0x7ff0000000000000, true},  // +Inf
		{0xfff0000000000000, true},  // -Inf
		{math.Float64bits(-1.5), true},
		{1, true}, // the smallest subnormal
	} {
		for _, avx := range []bool{false, true} {
			for pos := range 40 {
				f := make([]float64, 40)
				for i := range f {
					f[i] = float64(i) + 0.25
				}
				f[pos] = math.Float64frombits(tc.bits)
				if got := canonical(f, avx); got != tc.ok {
					t.Fatalf("%#x at %d of 40 (avx2 %v): %v, want %v", tc.bits, pos, avx, got, tc.ok)
				}
			}
		}
	}
}

func canonical(f []float64, avx bool) bool {
	saved := useAVX2
	defer func() { setAVX2(saved) }()
	setAVX2(avx && saved)
	return CanonicalFloats(f)
}

// FuzzSum128Paths: the assembly and Go paths of Sum128 agree on any input.
func FuzzSum128Paths(f *testing.F) {
	f.Add(make([]byte, 3000))
	f.Add([]byte("hello"))
	f.Fuzz(func(t *testing.T, b []byte) {
		b = append(b, b...) // reach the long path more often
		var want [2]uint64
		for i, p := range floatPaths() {
			restore := p.use()
			h, l := Sum128(b)
			restore()
			if i == 0 {
				want = [2]uint64{h, l}
			} else if [2]uint64{h, l} != want {
				t.Fatalf("%d bytes: %x %x (%s) vs %x (Go)", len(b), h, l, p.name, want)
			}
		}
	})
}

// FuzzCanonicalFloats: the assembly and Go scans agree with a plain
// reading of the rule on any words.
func FuzzCanonicalFloats(f *testing.F) {
	f.Add(make([]byte, 8*40))
	f.Fuzz(func(t *testing.T, b []byte) {
		fl := make([]float64, len(b)/8)
		want := true
		for i := range fl {
			x := binary.LittleEndian.Uint64(b[8*i:])
			if x&0xff == 0xab { // make special values common
				x = []uint64{1 << 63, CanonNaN, 0x7ff8000000000000, 0}[x>>8&3]
			}
			fl[i] = math.Float64frombits(x)
			if v := fl[i]; v == 0 && math.Signbit(v) || v != v && x != CanonNaN {
				want = false
			}
		}
		if got := canonical(fl, true); got != want {
			t.Fatalf("avx2 scan: %v, want %v", got, want)
		}
		if got := canonical(fl, false); got != want {
			t.Fatalf("Go scan: %v, want %v", got, want)
		}
		mem := make([]byte, 8*len(fl))
		for i, x := range fl {
			binary.LittleEndian.PutUint64(mem[8*i:], math.Float64bits(x))
		}
		wantH, wantL := Sum128(mem)
		for _, p := range floatPaths() {
			restore := p.use()
			h, l, ok := Sum128Floats(fl)
			restore()
			if ok != want || h != wantH || l != wantL {
				t.Fatalf("fused pass (%s): %x %x %v, want %x %x %v", p.name, h, l, ok, wantH, wantL, want)
			}
		}
	})
}

// TestSum128Floats: the fused pass gives Sum128 of the memory and the
// verdict of CanonicalFloats, with the special value in a whole block or
// in the tail, on both paths.
func TestSum128Floats(t *testing.T) {
	for _, n := range []int{5, 30, 31, 200, 1000, 3000} {
		for _, pos := range []int{-1, 0, n / 2, n - 1} {
			for _, bits := range []uint64{1 << 63, 0x7ff8000000000000, CanonNaN} {
				f := make([]float64, n)
				for i := range f {
					f[i] = float64(i) * 1.25
				}
				f[0] = 1
				if pos >= 0 {
					f[pos] = math.Float64frombits(bits)
				}
				b := make([]byte, 8*n)
				for i, x := range f {
					binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(x))
				}
				wantH, wantL := Sum128(b)
				for _, p := range floatPaths() {
					restore := p.use()
					h, l, ok := Sum128Floats(f)
					restore()
					if h != wantH || l != wantL || ok != CanonicalFloats(f) {
						t.Fatalf("n %d, %#x at %d (%s): %x %x %v; want %x %x %v", n, bits, pos, p.name, h, l, ok, wantH, wantL, CanonicalFloats(f))
					}
				}
			}
		}
	}
}

// floatPath is one way Sum128 and Sum128Floats can run on this machine.
type floatPath struct {
	name         string
	avx2, avx512 bool
}

// floatPaths lists the paths this CPU has: Go, AVX2, AVX2 with the
// AVX-512 scan.
func floatPaths() []floatPath {
	ps := []floatPath{{name: "Go"}}
	if useAVX2 {
		ps = append(ps, floatPath{name: "AVX2", avx2: true})
	}
	if useAVX512 {
		ps = append(ps, floatPath{name: "AVX-512", avx2: true, avx512: true})
	}
	return ps
}

// use switches to the path and returns what switches back.
func (p floatPath) use() (restore func()) {
	a2, a5 := useAVX2, useAVX512
	setAVX2(p.avx2)
	setAVX512(p.avx512)
	return func() { setAVX2(a2); setAVX512(a5) }
}

// TestFloatScanEveryLane: each special value in each of a block's 128
// words, with every path this CPU has; the scan's verdict and the hash
// match the Go path's.
func TestFloatScanEveryLane(t *testing.T) {
	paths := floatPaths()
	t.Logf("paths: %v", paths)
	for _, bits := range []uint64{1 << 63, 0x7ff8000000000000, 0x7ff0000000000001, 0xfff8000000000001, CanonNaN, 0x7ff0000000000000} {
		for pos := range blockLen / 8 {
			f := make([]float64, 2*blockLen/8+3)
			for i := range f {
				f[i] = float64(i) - 100.5
			}
			f[blockLen/8+pos] = math.Float64frombits(bits)
			var want [3]uint64
			for i, p := range paths {
				restore := p.use()
				h, l, ok := Sum128Floats(f)
				restore()
				okBit := uint64(0)
				if ok {
					okBit = 1
				}
				got := [3]uint64{h, l, okBit}
				if i == 0 {
					want = got
					if wantOK := bits == CanonNaN || bits == 0x7ff0000000000000; ok != wantOK {
						t.Fatalf("%#x in word %d: canonical %v on the Go path", bits, pos, ok)
					}
				} else if got != want {
					t.Fatalf("%#x in word %d: %s gives %x, Go %x", bits, pos, p.name, got, want)
				}
			}
		}
	}
}
