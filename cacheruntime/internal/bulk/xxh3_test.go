package bulk

import (
	"bufio"
	"fmt"
	"os"
	"testing"
)

// sanityBuffer is the reference's test input (xxHash's sanity checks): a
// byte stream generated from the 32- and 64-bit primes.
func sanityBuffer(n int) []byte {
	b := make([]byte, n)
	gen := uint64(prime32_1)
	for i := range b {
		b[i] = byte(gen >> 56)
		gen *= prime64_1
	}
	return b
}

// TestVectors checks Sum128 against XXH3-128 values from the reference
// implementation's family (testdata/vectors.txt: length, high, low, seed
// 0) for every code path: the lengths 0–300 one by one, block edges and
// long inputs up to 1 MiB.
func TestVectors(t *testing.T) {
	f, err := os.Open("testdata/vectors.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := sanityBuffer(1<<20 + 64)
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		var l int
		var hi, lo uint64
		if _, err := fmt.Sscanf(sc.Text(), "%d %x %x", &l, &hi, &lo); err != nil {
			t.Fatalf("%q: %v", sc.Text(), err)
		}
		if h, w := Sum128(buf[:l]); h != hi || w != lo {
			t.Errorf("length %d: %016x %016x, want %016x %016x", l, h, w, hi, lo)
		}
		n++
	}
	if n < 500 {
		t.Fatalf("only %d vectors", n)
	}
}

// TestPublishedValues: values printed in xxHash's own sanity tests
// (XXH128 of the sanity buffer, seed 0), independent of the generated file.
func TestPublishedValues(t *testing.T) {
	buf := sanityBuffer(16)
	for _, tc := range []struct {
		n      int
		hi, lo uint64
	}{
		{0, 0x99AA06D3014798D8, 0x6001C324468D497F},
		{1, 0xA6CD5E9392000F6A, 0xC44BDFF4074EECDB},
	} {
		if hi, lo := Sum128(buf[:tc.n]); hi != tc.hi || lo != tc.lo {
			t.Errorf("length %d: %016x %016x", tc.n, hi, lo)
		}
	}
}

// TestNoOverread: inputs that end at the end of their memory hash the same
// as the same bytes inside a larger buffer (no read past the end).
func TestNoOverread(t *testing.T) {
	big := sanityBuffer(5000)
	for _, n := range []int{1, 3, 4, 8, 9, 16, 17, 128, 129, 240, 241, 1024, 1025, 4999} {
		exact := append([]byte(nil), big[:n]...)
		h1, l1 := Sum128(exact)
		h2, l2 := Sum128(big[:n])
		if h1 != h2 || l1 != l2 {
			t.Errorf("length %d differs in place", n)
		}
	}
}

func BenchmarkSum128(b *testing.B) {
	for _, n := range []int{100, 1000, 8 << 20} {
		buf := sanityBuffer(n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				Sum128(buf)
			}
		})
	}
}
