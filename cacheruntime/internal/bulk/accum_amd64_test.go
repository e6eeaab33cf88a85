package bulk

import (
	"math/rand/v2"
	"testing"
)

// TestAVX2MatchesGeneric: the assembly block loops (AVX2, and AVX-512
// where the CPU has it) and the Go one agree on random data and random
// accumulators, for 1 to 9 blocks; and the vectors hold on every path.
func TestAVX2MatchesGeneric(t *testing.T) {
	if !useAVX2 {
		t.Log("this CPU has no AVX2: only the generic path runs")
	}
	r := rand.New(rand.NewPCG(1, 2))
	for blocks := 1; blocks <= 9 && useAVX2; blocks++ {
		b := make([]byte, blocks*blockLen)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		var a1 [8]uint64
		for i := range a1 {
			a1[i] = r.Uint64()
		}
		a2, a3 := a1, a1
		accumBlocksGeneric(&a1, b)
		accumBlocksAVX2(&a2, &b[0], blocks, &secret)
		if a1 != a2 {
			t.Errorf("%d blocks: generic %x, AVX2 %x", blocks, a1, a2)
		}
		if useAVX512 {
			accumBlocksAVX512(&a3, &b[0], blocks, &secret)
			if a1 != a3 {
				t.Errorf("%d blocks: generic %x, AVX-512 %x", blocks, a1, a3)
			}
		}
	}
	for _, p := range floatPaths() {
		t.Run(p.name, func(t *testing.T) {
			defer p.use()()
			TestVectors(t)
		})
	}
}
