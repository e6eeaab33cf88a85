package cacheruntime_test

import (
	"strings"
	"testing"
	"time"

	"github.com/cachelens/cachelens/cacheruntime"
)

func TestStatsFigures(t *testing.T) {
	var h cacheruntime.Handle
	f := cacheruntime.Func1(func(n int) []float64 {
		time.Sleep(2 * time.Millisecond)
		return make([]float64, n)
	}, cacheruntime.WithHandle(&h), cacheruntime.Name("loadSeries"))
	for range 200 {
		f(1000)
	}
	f(2000)
	s := h.Stats()
	if s.Name != "loadSeries" || s.Hits != 199 || s.Misses != 2 || s.Entries != 2 {
		t.Fatalf("stats %+v", s)
	}
	if s.Bytes < 3000*8 || s.Bytes > 3000*8+4096 {
		t.Errorf("bytes %d, want about %d", s.Bytes, 3000*8)
	}
	if s.Computes != 2 || s.AvgCompute() < 2*time.Millisecond {
		t.Errorf("computes %d avg %v", s.Computes, s.AvgCompute())
	}
	// Sampled on one hit in 64 (three samples here): one preempted sample
	// on a loaded machine (-race, CI) moves the average by milliseconds.
	if s.AvgHash <= 0 || s.AvgHash > 50*time.Millisecond {
		t.Errorf("hash time %v", s.AvgHash)
	}
	if s.Saved() < 199*2*time.Millisecond {
		t.Errorf("saved %v", s.Saved())
	}
	if got := s.String(); !strings.HasPrefix(got, "loadSeries: 199 hits · 2 misses (99%) · saved ") {
		t.Errorf("String() = %q", got)
	}
	if r := s.HitRate(); r < 0.99 || r > 0.991 {
		t.Errorf("hit rate %v", r)
	}
	var unbound cacheruntime.Handle
	if unbound.Stats().Hits != 0 || unbound.Name() != "" {
		t.Error("unbound handle")
	}
	unbound.Clear()
}
