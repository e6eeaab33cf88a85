// Package redisbench measures the Redis tier (stores/redis) beside the
// clients and caches it is compared with, on a real redis-server started
// on a free local port: a bare GET through go-redis and through rueidis
// (the client choice), redisstore's GET, a cacheruntime call answered by
// Redis, and github.com/go-redis/cache doing the same job. Each reports
// p50 and p99 latency beside the mean and process CPU per operation.
package redisbench

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/cachelens/cachelens/cacheruntime"
	"github.com/cachelens/cachelens/internal/cputime"
	redisstore "github.com/cachelens/cachelens/stores/redis"
	"github.com/go-redis/cache/v9"
	"github.com/redis/go-redis/v9"
	"github.com/redis/rueidis"
)

// startRedis runs a redis-server for the benchmark.
func startRedis(b *testing.B) string {
	b.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		b.Skip("redis-server is not installed (apt-get install redis-server)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", b.TempDir())
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	for deadline := time.Now().Add(10 * time.Second); c.Ping(context.Background()).Err() != nil; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatal("redis-server did not start")
		}
	}
	return addr
}

// timed runs op b.N times and reports p50, p99 and CPU per op.
func timed(b *testing.B, op func(i int)) {
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	ct := cputime.Start()
	for i := range b.N {
		t0 := time.Now()
		op(i)
		lat = append(lat, time.Since(t0))
	}
	ct.Report(b)
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2]), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100]), "p99-ns")
}

const valueSize = 1024

// Result is what the cached function returns: 1 KB of data.
type Result struct {
	ID   int
	Data []byte
}

func compute(id int) Result { return Result{ID: id, Data: make([]byte, valueSize)} }

func BenchmarkGet(b *testing.B) {
	addr := startRedis(b)
	value := make([]byte, valueSize)
	b.Run("impl=go-redis", func(b *testing.B) {
		c := redis.NewClient(&redis.Options{Addr: addr})
		defer c.Close()
		c.Set(context.Background(), "k", value, 0)
		timed(b, func(int) {
			if _, err := c.Get(context.Background(), "k").Bytes(); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("impl=rueidis", func(b *testing.B) {
		c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}, DisableCache: true})
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		c.Do(context.Background(), c.B().Set().Key("k").Value(string(value)).Build())
		timed(b, func(int) {
			if _, err := c.Do(context.Background(), c.B().Get().Key("k").Build()).AsBytes(); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("impl=redisstore", func(b *testing.B) {
		c := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
		defer c.Close()
		s := redisstore.New(c, redisstore.Options{})
		s.Set("k", value, 0)
		timed(b, func(int) {
			if _, ok, err := s.Get("k"); !ok || err != nil {
				b.Fatal(ok, err)
			}
		})
	})
}

// BenchmarkHit: a call answered by Redis (it misses in memory: MaxEntries(1)
// and two keys taking turns), against go-redis/cache's Get of the same
// value (msgpack, no local cache) and a bare GET.
func BenchmarkHit(b *testing.B) {
	addr := startRedis(b)
	b.Run("impl=cacheruntime", func(b *testing.B) {
		c := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
		defer c.Close()
		f := cacheruntime.Func1(compute, cacheruntime.WithStore(redisstore.New(c, redisstore.Options{})),
			cacheruntime.MaxEntries(1), cacheruntime.NoReport(), cacheruntime.AllowOutputMutation())
		f(0)
		f(1)
		timed(b, func(i int) {
			if r := f(i & 1); r.ID != i&1 {
				b.Fatal("wrong result")
			}
		})
	})
	b.Run("impl=go-redis-cache", func(b *testing.B) {
		c := redis.NewClient(&redis.Options{Addr: addr})
		defer c.Close()
		rc := cache.New(&cache.Options{Redis: c})
		ctx := context.Background()
		for id := range 2 {
			rc.Set(&cache.Item{Ctx: ctx, Key: fmt.Sprint("gc", id), Value: compute(id)})
		}
		timed(b, func(i int) {
			var r Result
			if err := rc.Get(ctx, fmt.Sprint("gc", i&1), &r); err != nil || r.ID != i&1 {
				b.Fatal(err)
			}
		})
	})
	b.Run("impl=bare-get", func(b *testing.B) {
		c := redis.NewClient(&redis.Options{Addr: addr})
		defer c.Close()
		c.Set(context.Background(), "k", make([]byte, valueSize+40), 0)
		timed(b, func(int) {
			if _, err := c.Get(context.Background(), "k").Bytes(); err != nil {
				b.Fatal(err)
			}
		})
	})
}

// BenchmarkTwoProcesses: two processes share one Redis, each making b.N
// calls over 1,000 arguments with room for 100 results in memory, so
// most calls are answered by Redis (or computed once by one of them). It
// reports the calls per second both processes make together.
func BenchmarkTwoProcesses(b *testing.B) {
	addr := startRedis(b)
	start := time.Now()
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			cmd := exec.Command(os.Args[0], "-test.run=^TestReplicaProcess$")
			cmd.Env = append(os.Environ(), "REDISBENCH_ADDR="+addr, "REDISBENCH_N="+strconv.Itoa(b.N))
			out, err := cmd.CombinedOutput()
			if err != nil {
				err = fmt.Errorf("%v: %s", err, out)
			}
			errs <- err
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(2*b.N)/time.Since(start).Seconds(), "calls/s")
}

// TestReplicaProcess is one process of BenchmarkTwoProcesses (it does
// nothing when run as a test).
func TestReplicaProcess(t *testing.T) {
	addr := os.Getenv("REDISBENCH_ADDR")
	if addr == "" {
		return
	}
	n, _ := strconv.Atoi(os.Getenv("REDISBENCH_N"))
	c := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
	defer c.Close()
	f := cacheruntime.Func1(compute, cacheruntime.WithStore(redisstore.New(c, redisstore.Options{})),
		cacheruntime.MaxEntries(100), cacheruntime.NoReport(), cacheruntime.AllowOutputMutation())
	for i := range n {
		if r := f(i * 7919 % 1000); r.ID != i*7919%1000 {
			t.Fatal("wrong result")
		}
	}
}
