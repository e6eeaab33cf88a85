package cacheruntime_test

import (
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachelens/cachelens/cacheruntime"
)

type faultArg struct {
	Name string
	Tags []string
	M    map[string]int
	Any  any
}

type faultResult struct {
	Items []int
	By    map[string]*faultResult
}

// TestInternalFaultsDegrade: a panic inside any step of cacheruntime's own
// work on the call path (hashing the key, explaining a miss, fingerprinting,
// sizing and describing a result, describing a hash error) never reaches
// the caller, never leaves an in-flight entry behind (the next equal call,
// and concurrent equal calls, return), and is reported as an internal error.
func TestInternalFaultsDegrade(t *testing.T) {
	for _, step := range cacheruntime.FaultSteps {
		t.Run(step, func(t *testing.T) {
			var runs atomic.Int64
			var h cacheruntime.Handle
			opts := []cacheruntime.Option{cacheruntime.InjectFault(step), cacheruntime.WithHandle(&h), cacheruntime.NoReport()}
			f := cacheruntime.Func1(func(a faultArg) *faultResult {
				runs.Add(1)
				return &faultResult{Items: []int{len(a.Name)}, By: map[string]*faultResult{"x": {}}}
			}, opts...)
			arg := func(i int) faultArg {
				a := faultArg{Name: strings.Repeat("n", i), Tags: []string{"a"}, M: map[string]int{"k": i}, Any: []any{i}}
				if step == "describe" {
					a.Any = func() {} // a hash error, whose description fails
				}
				return a
			}
			for i := 1; i <= 3; i++ {
				for range 2 {
					var r *faultResult
					returnsWithin(t, 5*time.Second, "call", func() { r = f(arg(i)) })
					if r == nil || len(r.Items) != 1 || r.Items[0] != i {
						t.Fatalf("call %d returned %+v", i, r)
					}
				}
			}
			var wg sync.WaitGroup
			for range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					returnsWithin(t, 5*time.Second, "concurrent call", func() { f(arg(9)) })
				}()
			}
			wg.Wait()
			s := h.Stats()
			if got := s.Hits + s.Misses + s.Uncached; got != 14 {
				t.Errorf("counted %d calls, want 14: %+v", got, s)
			}
			internal := false
			for _, e := range s.HashErrorLog {
				if strings.Contains(e.Err.Internal, "injected fault") {
					internal = true
				}
			}
			if !internal {
				t.Errorf("no internal error reported: %+v", s.HashErrorLog)
			}
		})
	}
}

// TestReporterFaultDoesNotStopTheProgram: a fault inside the reporter's
// own work is contained in its goroutine.
func TestReporterFaultDoesNotStopTheProgram(t *testing.T) {
	r := cacheruntime.NewReporter(cacheruntime.ReporterOptions{Socket: t.TempDir() + "/none.sock", Interval: time.Millisecond})
	cacheruntime.InjectReporterFault(r)
	defer r.Close()
	f := cacheruntime.Func1(func(i int) int { return i }, cacheruntime.WithReporter(r))
	for i := range 50 {
		f(i % 5)
		time.Sleep(time.Millisecond)
	}
	r.Flush()
}

// TestFlushNeedsNoServer: the package-level Flush, kept for programs
// written before counts went to run files, returns promptly whether or not
// a server runs, and changes no count.
func TestFlushNeedsNoServer(t *testing.T) {
	t.Setenv("CACHELENS_SOCKET", filepath.Join(t.TempDir(), "none.sock"))
	var h cacheruntime.Handle
	f := cacheruntime.Func1(func(n int) int { return n }, cacheruntime.WithHandle(&h))
	f(1)
	f(1)
	start := time.Now()
	cacheruntime.Flush()
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Flush took %v", d)
	}
	if s := h.Stats(); s.Hits != 1 || s.Misses != 1 {
		t.Errorf("after Flush: %d hits, %d misses", s.Hits, s.Misses)
	}
}
