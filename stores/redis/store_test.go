package redisstore_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachelens/cachelens/cacheruntime"
	redisstore "github.com/cachelens/cachelens/stores/redis"
	"github.com/redis/go-redis/v9"
)

// TestMain lets the test binary run as one replica of a service (see
// replica), for the tests that need several processes.
func TestMain(m *testing.M) {
	if os.Getenv("REDISSTORE_REPLICA") != "" {
		os.Exit(replica())
	}
	os.Exit(m.Run())
}

// slowSquare stands for an expensive computation; each run appends a line
// to $REDISSTORE_LOG, so a test can count computations across processes.
func slowSquare(n int) int {
	f, err := os.OpenFile(os.Getenv("REDISSTORE_LOG"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err == nil {
		fmt.Fprintf(f, "computed %d in %d\n", n, os.Getpid())
		f.Close()
	}
	d, _ := time.ParseDuration(os.Getenv("REDISSTORE_DELAY"))
	time.Sleep(d)
	return n * n
}

// replica is one process of a service: it computes slowSquare($N) through
// a cache shared on Redis at $REDISSTORE_ADDR and prints the value and
// where it came from.
func replica() int {
	// A generous bound: under the race detector on a loaded machine a new
	// process's first connection can take longer than the default 50 ms
	// (TestSlowServer tests the bound).
	store := redisstore.New(redis.NewClient(&redis.Options{Addr: os.Getenv("REDISSTORE_ADDR")}), redisstore.Options{Timeout: 2 * time.Second})
	var h cacheruntime.Handle
	square := cacheruntime.Func1(slowSquare, cacheruntime.WithStore(store), cacheruntime.NoReport(), cacheruntime.WithHandle(&h))
	n, _ := strconv.Atoi(os.Getenv("N"))
	v := square(n)
	s := h.Stats()
	fmt.Printf("value %d redis hits %d errors %d\n", v, s.Tiers[0].Hits, s.Tiers[0].Errors)
	for _, e := range s.StoreErrorLog {
		fmt.Fprintln(os.Stderr, "store error:", e.Message)
	}
	return 0
}

func runReplicas(t *testing.T, addr, log string, n, count int, delay time.Duration) []string {
	t.Helper()
	outs := make([]string, count)
	var wg sync.WaitGroup
	for i := range count {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "REDISSTORE_REPLICA=1", "REDISSTORE_ADDR="+addr, "REDISSTORE_LOG="+log,
				"REDISSTORE_DELAY="+delay.String(), "N="+strconv.Itoa(n))
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Errorf("replica: %v\n%s", err, out)
			}
			outs[i] = string(out)
		}()
	}
	wg.Wait()
	return outs
}

func computations(t *testing.T, log string) int {
	b, err := os.ReadFile(log)
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "computed")
}

// Two processes share a result: the second reads what the first stored.
func TestTwoProcessesShare(t *testing.T) {
	srv := startServer(t)
	log := t.TempDir() + "/log"
	first := runReplicas(t, srv.addr(), log, 6, 1, 0)
	second := runReplicas(t, srv.addr(), log, 6, 1, 0)
	if first[0] != "value 36 redis hits 0 errors 0\n" || second[0] != "value 36 redis hits 1 errors 0\n" {
		t.Errorf("first: %q second: %q", first[0], second[0])
	}
	if n := computations(t, log); n != 1 {
		t.Errorf("%d computations, want 1", n)
	}
}

// Replicas missing the same key at once compute it once.
func TestReplicasComputeOnce(t *testing.T) {
	srv := startServer(t)
	log := t.TempDir() + "/log"
	outs := runReplicas(t, srv.addr(), log, 9, 6, 500*time.Millisecond)
	hits := 0
	for _, o := range outs {
		if !strings.HasPrefix(o, "value 81 ") {
			t.Errorf("replica printed %q", o)
		}
		if strings.Contains(o, "redis hits 1") {
			hits++
		}
	}
	if n := computations(t, log); n != 1 || hits != 5 {
		t.Errorf("%d computations and %d replicas served by Redis; want 1 and 5\n%s", n, hits, strings.Join(outs, ""))
	}
}

func newStore(srv *server, opts redisstore.Options) *redisstore.Store {
	c := redis.NewClient(&redis.Options{Addr: srv.addr()})
	srv.t.Cleanup(func() { c.Close() })
	return redisstore.New(c, opts)
}

// counted wraps a function of one int with a cache on store, counting
// computations.
func counted(store cacheruntime.Store, h *cacheruntime.Handle, opts ...cacheruntime.Option) (func(int) string, *atomic.Int64) {
	var n atomic.Int64
	opts = append([]cacheruntime.Option{cacheruntime.WithStore(store), cacheruntime.NoReport(), cacheruntime.WithHandle(h)}, opts...)
	return cacheruntime.Func1(func(i int) string { n.Add(1); return strings.Repeat("v", i) }, opts...), &n
}

func storeErrors(h *cacheruntime.Handle) string {
	var msgs []string
	for _, e := range h.Stats().StoreErrorLog {
		msgs = append(msgs, fmt.Sprintf("%s (×%d)", e.Message, e.Count))
	}
	return strings.Join(msgs, " | ")
}

// Redis killed mid-run: calls go on (computed locally, quickly), the
// errors are reported; restarted, it serves again.
func TestKilledAndRestarted(t *testing.T) {
	srv := startServer(t)
	store := newStore(srv, redisstore.Options{})
	var h cacheruntime.Handle
	f, n := counted(store, &h)
	f(1)
	srv.kill()
	start := time.Now()
	for i := 2; i < 50; i++ {
		if got := f(i); got != strings.Repeat("v", i) {
			t.Fatalf("f(%d) = %q", i, got)
		}
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("48 calls with Redis down took %v", d)
	}
	if errs := storeErrors(&h); !(strings.Contains(errs, "connection refused") || strings.Contains(errs, "deadline exceeded")) || !strings.Contains(errs, "left alone after repeated errors") {
		t.Errorf("store errors: %s", errs)
	}
	writes := h.Stats().Tiers[0].Writes
	srv.start()
	// The breaker lets calls through again after its pause (1 s after the
	// first three errors, doubling after each further one).
	for i, deadline := 100, time.Now().Add(40*time.Second); h.Stats().Tiers[0].Writes == writes; i++ {
		if time.Now().After(deadline) {
			t.Fatalf("the store was not used again after Redis restarted: %+v", h.Stats().Tiers)
		}
		f(i)
		time.Sleep(100 * time.Millisecond)
	}
	// What f stores now, another replica reads.
	var h2 cacheruntime.Handle
	g, _ := counted(store, &h2)
	before := n.Load()
	f(500)
	g(500)
	if n.Load() != before+1 || h2.Stats().Tiers[0].Hits != 1 {
		t.Errorf("after the restart: computed %d more, replica 2 tier %+v", n.Load()-before, h2.Stats().Tiers)
	}
}

// A slow Redis (DEBUG SLEEP) costs a call at most the timeout, with a
// client that respects context deadlines and with one that does not (the
// default).
func TestSlowServer(t *testing.T) {
	for _, ctxTimeouts := range []bool{false, true} {
		t.Run(fmt.Sprint("ContextTimeoutEnabled=", ctxTimeouts), func(t *testing.T) {
			srv := startServer(t, "--enable-debug-command", "yes")
			c := redis.NewClient(&redis.Options{Addr: srv.addr(), ContextTimeoutEnabled: ctxTimeouts})
			t.Cleanup(func() { c.Close() })
			store := redisstore.New(c, redisstore.Options{Timeout: 50 * time.Millisecond})
			var h cacheruntime.Handle
			f, _ := counted(store, &h)
			f(1)
			admin := srv.client()
			slept := make(chan error, 1)
			go func() { slept <- admin.Do(context.Background(), "DEBUG", "SLEEP", "1.5").Err() }()
			time.Sleep(100 * time.Millisecond)
			start := time.Now()
			if got := f(2); got != "vv" {
				t.Fatalf("f(2) = %q", got)
			}
			if d := time.Since(start); d > 500*time.Millisecond {
				t.Errorf("a call took %v while Redis slept", d)
			}
			if errs := storeErrors(&h); !strings.Contains(errs, "redis get") || !(strings.Contains(errs, "timeout") || strings.Contains(errs, "deadline")) {
				t.Errorf("store errors: %s", errs)
			}
			if err := <-slept; err != nil {
				t.Fatalf("DEBUG SLEEP: %v", err)
			}
		})
	}
}

// An evicting Redis (maxmemory, allkeys-lru) drops entries: they become
// misses, never errors or wrong results.
func TestEviction(t *testing.T) {
	srv := startServer(t, "--maxmemory", "2mb", "--maxmemory-policy", "allkeys-lru")
	store := newStore(srv, redisstore.Options{})
	var h cacheruntime.Handle
	f, n := counted(store, &h, cacheruntime.MaxEntries(1))
	for i := range 60 {
		f(100_000 + i) // 100 KB each: 6 MB through a 2 MB Redis
	}
	if ev := info(t, srv.client(), "stats")["evicted_keys"]; ev == "0" || ev == "" {
		t.Fatalf("nothing was evicted: %q", ev)
	}
	before := n.Load()
	if got := f(100_000); len(got) != 100_000 {
		t.Fatal("wrong result")
	}
	if n.Load() != before+1 {
		t.Error("an evicted entry did not compute again")
	}
	if errs := storeErrors(&h); errs != "" {
		t.Errorf("store errors: %s", errs)
	}
}

// A value over the size limit is not stored, and says so; compression
// takes large compressible values under it.
func TestValueLimitAndCompression(t *testing.T) {
	srv := startServer(t)
	var h cacheruntime.Handle
	f, _ := counted(newStore(srv, redisstore.Options{MaxValueBytes: 10_000}), &h)
	f(20_000)
	if errs := storeErrors(&h); !strings.Contains(errs, "is over the limit of 10000") {
		t.Errorf("store errors: %s", errs)
	}
	var h2 cacheruntime.Handle
	g, n := counted(newStore(srv, redisstore.Options{MaxValueBytes: 10_000, CompressAbove: 1000}), &h2, cacheruntime.Name("compressed"))
	g(20_000)
	var h3 cacheruntime.Handle
	g2, _ := counted(newStore(srv, redisstore.Options{MaxValueBytes: 10_000, CompressAbove: 1000}), &h3, cacheruntime.Name("compressed"))
	if got := g2(20_000); len(got) != 20_000 || n.Load() != 1 || h3.Stats().Tiers[0].Hits != 1 {
		t.Errorf("compressed value: %d bytes back, %d computations, tier %+v, errors %s", len(got), n.Load(), h3.Stats().Tiers, storeErrors(&h2))
	}
	keys, _ := srv.client().Keys(context.Background(), "cachelens:*").Result()
	for _, k := range keys {
		if n, _ := srv.client().StrLen(context.Background(), k).Result(); n > 10_000 {
			t.Errorf("%s holds %d bytes", k, n)
		}
	}
}

// The cache's TTL is the key's expiry in Redis.
func TestTTLIsExpiry(t *testing.T) {
	srv := startServer(t)
	var h cacheruntime.Handle
	f, _ := counted(newStore(srv, redisstore.Options{}), &h, cacheruntime.TTL(20*time.Second))
	f(3)
	keys, err := srv.client().Keys(context.Background(), "cachelens:*").Result()
	if err != nil || len(keys) != 1 {
		t.Fatalf("keys %v %v", keys, err)
	}
	ttl, _ := srv.client().PTTL(context.Background(), keys[0]).Result()
	if ttl <= 15*time.Second || ttl > 20*time.Second {
		t.Errorf("expiry %v, want just under 20s", ttl)
	}
	// Clear removes the function's keys.
	h.Clear()
	if keys, _ := srv.client().Keys(context.Background(), "cachelens:*").Result(); len(keys) != 0 {
		t.Errorf("after Clear: %v", keys)
	}
}

// A three-node Redis Cluster: replicas share through it; Clear reaches
// every master.
func TestCluster(t *testing.T) {
	nodes := startCluster(t)
	var addrs []string
	for _, n := range nodes {
		addrs = append(addrs, n.addr())
	}
	mk := func() (*redisstore.Store, *redis.ClusterClient) {
		c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
		t.Cleanup(func() { c.Close() })
		return redisstore.New(c, redisstore.Options{Timeout: time.Second}), c
	}
	s1, cc := mk()
	s2, _ := mk()
	var h1, h2 cacheruntime.Handle
	f, n := counted(s1, &h1)
	g, _ := counted(s2, &h2)
	for i := range 30 {
		f(i)
	}
	for i := range 30 {
		if got := g(i); got != strings.Repeat("v", i) {
			t.Fatalf("g(%d) = %q", i, got)
		}
	}
	if n.Load() != 30 || h2.Stats().Tiers[0].Hits != 30 {
		t.Fatalf("computed %d, replica 2 tier %+v, errors %s %s", n.Load(), h2.Stats().Tiers, storeErrors(&h1), storeErrors(&h2))
	}
	if !strings.HasPrefix(h1.Stats().Tiers[0].Location, "redis cluster 127.0.0.1:") {
		t.Errorf("location %q", h1.Stats().Tiers[0].Location)
	}
	// The keys are spread over the masters.
	spread := 0
	for _, node := range nodes {
		if keys, _ := node.client().Keys(context.Background(), "cachelens:*").Result(); len(keys) > 0 {
			spread++
		}
	}
	if spread < 2 {
		t.Errorf("keys on %d masters", spread)
	}
	h1.Clear()
	var mu sync.Mutex // ForEachMaster calls back from a goroutine per master
	var left []string
	cc.ForEachMaster(context.Background(), func(ctx context.Context, c *redis.Client) error {
		keys, _ := c.Keys(ctx, "cachelens:*").Result()
		mu.Lock()
		left = append(left, keys...)
		mu.Unlock()
		return nil
	})
	if len(left) != 0 {
		t.Errorf("after Clear: %v", left)
	}
}
