package cacheruntime_test

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachelens/cachelens/cacheruntime"
)

// mapStore is a Store in this process's memory, for the engine's side of
// the contract (stores/redis tests the Redis store against real servers).
type mapStore struct {
	mu    sync.Mutex
	m     map[string][]byte
	locks map[string]bool
	down  atomic.Bool // every call fails
	calls atomic.Int64
}

func newMapStore() *mapStore {
	return &mapStore{m: map[string][]byte{}, locks: map[string]bool{}}
}

var errDown = errors.New("connection refused")

func (s *mapStore) Name() string     { return "redis" }
func (s *mapStore) Location() string { return "redis test" }
func (s *mapStore) Get(key string) ([]byte, bool, error) {
	s.calls.Add(1)
	if s.down.Load() {
		return nil, false, errDown
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[key]
	return v, ok, nil
}
func (s *mapStore) Set(key string, v []byte, ttl time.Duration) error {
	s.calls.Add(1)
	if s.down.Load() {
		return errDown
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = v
	return nil
}
func (s *mapStore) Delete(key string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.m[key]
	delete(s.m, key)
	return ok, nil
}
func (s *mapStore) Clear(prefix string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.m {
		if strings.HasPrefix(k, prefix) {
			delete(s.m, k)
		}
	}
	return nil
}
func (s *mapStore) Lock(key string) (func(), bool, error) {
	s.calls.Add(1)
	if s.down.Load() {
		return nil, false, errDown
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.locks[key] {
		return nil, false, nil
	}
	s.locks[key] = true
	return func() { s.mu.Lock(); delete(s.locks, key); s.mu.Unlock() }, true, nil
}
func (s *mapStore) Wait(key string) ([]byte, bool, error) {
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if v, ok, err := s.Get(key); ok || err != nil {
			return v, ok, err
		}
	}
	return nil, false, nil
}

// Two caches of the same function (two replicas) share results through
// the store; a hit from it counts as a hit of the store's tier.
func TestStoreShared(t *testing.T) {
	s := newMapStore()
	var n atomic.Int64
	var h1, h2 cacheruntime.Handle
	mk := func(h *cacheruntime.Handle) func(int) Profile {
		return cacheruntime.Func1(func(id int) Profile { n.Add(1); return loadProfile(id) }, cacheruntime.WithStore(s), cacheruntime.NoReport(), cacheruntime.WithHandle(h))
	}
	a, b := mk(&h1), mk(&h2)
	a(1)
	if got := b(1); n.Load() != 1 || !jsonEqual(got, loadProfile(1)) {
		t.Fatalf("computed %d times; got %+v", n.Load(), got)
	}
	s2 := h2.Stats()
	if len(s2.Tiers) != 1 || s2.Tiers[0].Tier != "redis" || s2.Tiers[0].Hits != 1 || s2.Hits != 1 || s2.Tiers[0].Location != "redis test" {
		t.Errorf("replica 2: %d hits, tiers %+v", s2.Hits, s2.Tiers)
	}
	// Forget reaches the store.
	if ok, _ := h2.Forget(1); !ok {
		t.Error("Forget found nothing")
	}
	mk(new(cacheruntime.Handle))(1)
	if n.Load() != 2 {
		t.Errorf("after Forget: computed %d times, want 2", n.Load())
	}
}

// A store that fails costs the call nothing but its help: the call
// computes, the error is reported, and after three errors the store is
// left alone for a while instead of being asked (and timing out) on
// every call.
func TestStoreDownBreaker(t *testing.T) {
	s := newMapStore()
	s.down.Store(true)
	var h cacheruntime.Handle
	f := cacheruntime.Func1(func(i int) int { return i * 2 }, cacheruntime.WithStore(s), cacheruntime.NoReport(), cacheruntime.WithHandle(&h))
	for i := range 20 {
		if got := f(i); got != 2*i {
			t.Fatalf("f(%d) = %d", i, got)
		}
	}
	if c := s.calls.Load(); c > 4 {
		t.Errorf("the store was asked %d times while down, want it left alone after 3 errors", c)
	}
	st := h.Stats()
	var msgs []string
	for _, e := range st.StoreErrorLog {
		msgs = append(msgs, e.Message)
	}
	all := strings.Join(msgs, " | ")
	if !strings.Contains(all, "redis get: connection refused") || !strings.Contains(all, "redis left alone after repeated errors") {
		t.Errorf("store errors: %s", all)
	}
	if st.Misses != 20 {
		t.Errorf("%d misses, want 20", st.Misses)
	}
}

// Replicas missing the same key at once compute it once: one claims it,
// the others wait for its value.
func TestStoreOneComputation(t *testing.T) {
	s := newMapStore()
	var n atomic.Int64
	var replicas []func(int) int
	for range 4 {
		replicas = append(replicas, cacheruntime.Func1(func(i int) int {
			n.Add(1)
			time.Sleep(50 * time.Millisecond)
			return i * 3
		}, cacheruntime.WithStore(s), cacheruntime.NoReport()))
	}
	var wg sync.WaitGroup
	for _, r := range replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if got := r(7); got != 21 {
				t.Errorf("got %d", got)
			}
		}()
	}
	wg.Wait()
	if n.Load() != 1 {
		t.Errorf("computed %d times across 4 replicas, want 1", n.Load())
	}
}

// WithCodec names the encoding; it persists to disk only when no other
// option chose where results go — in whichever order the options come.
func TestCodecWithStoreIsNoDisk(t *testing.T) {
	for _, order := range []string{"codec first", "store first"} {
		s := newMapStore()
		opts := []cacheruntime.Option{cacheruntime.WithCodec(jsonCodec{}), cacheruntime.WithStore(s)}
		if order == "store first" {
			opts[0], opts[1] = opts[1], opts[0]
		}
		var h cacheruntime.Handle
		f := cacheruntime.Func1(func(i int) int { return i }, append(opts, cacheruntime.NoReport(), cacheruntime.WithHandle(&h))...)
		f(1)
		if tiers := h.Stats().Tiers; len(tiers) != 1 || tiers[0].Tier != "redis" {
			t.Errorf("%s: tiers %+v, want the store alone", order, tiers)
		}
	}
}
