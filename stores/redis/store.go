package redisstore

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cachelens/cachelens/cacheruntime"
	"github.com/redis/go-redis/v9"
)

// Options tune a Store. The zero value is a sound default.
type Options struct {
	// Timeout bounds each operation (a GET, a SET...), so that a slow or
	// unreachable Redis costs a call at most this much. Default 50 ms.
	Timeout time.Duration
	// MaxValueBytes is the largest value stored, after compression;
	// larger results stay in the replicas' memory. Default 1 MiB.
	MaxValueBytes int
	// CompressAbove compresses values of more bytes than this with gzip
	// (0: never).
	CompressAbove int
	// LockTTL is how long a replica's claim to compute a value lasts if
	// it does not release it (it died, or is slower than this). Default
	// 30 s.
	LockTTL time.Duration
	// MaxWait bounds how long a replica waits for another's computation
	// before computing itself. Default 5 s.
	MaxWait time.Duration
}

// Store is a cacheruntime.Store on Redis.
type Store struct {
	c    redis.UniversalClient
	opts Options
	loc  string
	// direct: c respects context deadlines (ContextTimeoutEnabled), so an
	// operation's deadline bounds it; otherwise each operation runs on a
	// goroutine of its own that the caller stops waiting for at the
	// deadline (the operation itself then ends at the client's read
	// timeout).
	direct bool
}

var _ cacheruntime.Store = (*Store)(nil)

// New returns a Store on c. Its bound on each operation (Options.Timeout)
// holds with any client; it costs least with one that respects context
// deadlines (redis.Options.ContextTimeoutEnabled, and the same field of
// the cluster, ring and universal options).
func New(c redis.UniversalClient, opts Options) *Store {
	if opts.Timeout <= 0 {
		opts.Timeout = 50 * time.Millisecond
	}
	if opts.MaxValueBytes <= 0 {
		opts.MaxValueBytes = 1 << 20
	}
	if opts.LockTTL <= 0 {
		opts.LockTTL = 30 * time.Second
	}
	if opts.MaxWait <= 0 {
		opts.MaxWait = 5 * time.Second
	}
	direct := false
	switch cc := c.(type) {
	case *redis.Client:
		direct = cc.Options().ContextTimeoutEnabled
	case *redis.ClusterClient:
		direct = cc.Options().ContextTimeoutEnabled
	case *redis.Ring:
		direct = cc.Options().ContextTimeoutEnabled
	}
	s := &Store{c: c, opts: opts, loc: location(c), direct: direct}
	// Connect now, in the background: a first call should not pay for the
	// connection against its bound.
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c.Ping(ctx)
	}()
	return s
}

// run runs op with the store's deadline, returning by the deadline
// whatever the client does.
func (s *Store) run(op func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.Timeout)
	if s.direct {
		defer cancel()
		return op(ctx)
	}
	done := make(chan error, 1)
	go func() {
		defer cancel()
		done <- op(ctx)
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		// The operation's goroutine cancels ctx when it ends too: an
		// answer that came with it wins.
		select {
		case err := <-done:
			return err
		default:
		}
		return fmt.Errorf("no answer within %v: %w", s.opts.Timeout, context.DeadlineExceeded)
	}
}

func location(c redis.UniversalClient) string {
	switch c := c.(type) {
	case *redis.Client:
		return "redis " + c.Options().Addr
	case *redis.ClusterClient:
		return "redis cluster " + strings.Join(c.Options().Addrs, ",")
	case *redis.Ring:
		return "redis ring"
	}
	return "redis"
}

// Name is "redis".
func (s *Store) Name() string { return "redis" }

// Location names the server or cluster.
func (s *Store) Location() string { return s.loc }

// format versions the store's keys and values: a store of another format
// never reads them (a suffix, so that the engine's prefixes still select
// a function's keys).
const format = "#r1"

func stored(k string) string { return k + format }

// Values carry one byte before the data: how it is encoded.
const (
	plain   = 0
	gzipped = 1
)

// Get returns the value under key.
func (s *Store) Get(key string) ([]byte, bool, error) {
	var b []byte
	err := s.run(func(ctx context.Context) (err error) {
		b, err = s.c.Get(ctx, stored(key)).Bytes()
		return err
	})
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	v, err := unframe(b)
	if err != nil {
		return nil, false, fmt.Errorf("value under %s: %w", key, err)
	}
	return v, true, nil
}

func unframe(b []byte) ([]byte, error) {
	if len(b) == 0 {
		return nil, errors.New("empty value")
	}
	switch b[0] {
	case plain:
		return b[1:], nil
	case gzipped:
		r, err := gzip.NewReader(bytes.NewReader(b[1:]))
		if err != nil {
			return nil, err
		}
		return io.ReadAll(r)
	}
	return nil, fmt.Errorf("unknown encoding %d", b[0])
}

// Set keeps value under key for ttl (0: until evicted), compressed if it
// is large enough, unless it is over the size limit.
func (s *Store) Set(key string, value []byte, ttl time.Duration) error {
	var framed []byte
	if s.opts.CompressAbove > 0 && len(value) > s.opts.CompressAbove {
		var buf bytes.Buffer
		buf.WriteByte(gzipped)
		w, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
		w.Write(value)
		w.Close()
		framed = buf.Bytes()
	} else {
		framed = append(append(make([]byte, 0, len(value)+1), plain), value...)
	}
	if len(framed) > s.opts.MaxValueBytes {
		return fmt.Errorf("not stored: a value of %d bytes is over the limit of %d (redisstore.Options.MaxValueBytes)", len(framed), s.opts.MaxValueBytes)
	}
	return s.run(func(ctx context.Context) error { return s.c.Set(ctx, stored(key), framed, ttl).Err() })
}

// Delete removes key.
func (s *Store) Delete(key string) (bool, error) {
	var n int64
	err := s.run(func(ctx context.Context) (err error) {
		n, err = s.c.Del(ctx, stored(key)).Result()
		return err
	})
	return n > 0, err
}

// Clear removes the keys that start with prefix, on every master of a
// cluster. It scans: its bound is ten times an operation's.
func (s *Store) Clear(prefix string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*s.opts.Timeout)
	defer cancel()
	clear := func(ctx context.Context, c redis.Cmdable) error {
		iter := c.Scan(ctx, 0, escape(prefix)+"*", 1000).Iterator()
		for iter.Next(ctx) {
			if err := c.Del(ctx, iter.Val()).Err(); err != nil {
				return err
			}
		}
		return iter.Err()
	}
	if cc, ok := s.c.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return clear(ctx, c) })
	}
	return clear(ctx, s.c)
}

// escape quotes the glob characters of a SCAN pattern.
func escape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`, `]`, `\]`)
	return r.Replace(s)
}

// unlockScript deletes a lock only if it still holds this replica's
// token (it may have expired and been taken by another).
var unlockScript = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`)

// Lock claims key's computation for LockTTL.
func (s *Store) Lock(key string) (func(), bool, error) {
	var t [16]byte
	rand.Read(t[:])
	token := hex.EncodeToString(t[:])
	var ok bool
	err := s.run(func(ctx context.Context) (err error) {
		ok, err = s.c.SetNX(ctx, lockKey(key), token, s.opts.LockTTL).Result()
		return err
	})
	if err != nil || !ok {
		return nil, false, err
	}
	return func() {
		s.run(func(ctx context.Context) error {
			return unlockScript.Run(ctx, s.c, []string{lockKey(key)}, token).Err()
		})
	}, true, nil
}

func lockKey(key string) string { return stored(key) + ":lock" }

// Wait polls for key's value while another replica holds its lock, for at
// most MaxWait: it returns the value once stored, or not found when the
// lock goes without a value (the other replica failed) or the wait ends.
func (s *Store) Wait(key string) ([]byte, bool, error) {
	deadline := time.Now().Add(s.opts.MaxWait)
	pause := 2 * time.Millisecond
	for {
		v, ok, err := s.Get(key)
		if ok || err != nil {
			return v, ok, err
		}
		var n int64
		err = s.run(func(ctx context.Context) (err error) {
			n, err = s.c.Exists(ctx, lockKey(key)).Result()
			return err
		})
		if err != nil {
			return nil, false, err
		}
		if n == 0 {
			// The claim is gone: stored since the GET, or given up.
			return s.Get(key)
		}
		if time.Now().Add(pause).After(deadline) {
			return nil, false, nil
		}
		time.Sleep(pause)
		pause = min(pause*2, 50*time.Millisecond)
	}
}
