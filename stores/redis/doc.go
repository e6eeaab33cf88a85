// Package redisstore shares cached results between the replicas of a
// service through Redis: a [cacheruntime.Store] on a go-redis client, in
// a module of its own so that programs that use cacheruntime without it
// never download a Redis client.
//
//	rdb := redis.NewClient(&redis.Options{Addr: "redis:6379"})
//	store := redisstore.New(rdb, redisstore.Options{})
//	var loadCatalog = cacheruntime.Func1(loadCatalogUncached, cacheruntime.WithStore(store))
//
// Memory stays the first tier (and the disk the second, with
// cacheruntime.Persist); Redis is asked on a miss there, and every
// computed result is written to it with the cache's TTL as its expiry.
// Replicas that miss the same arguments at once compute them once: the
// first takes a lock key (SET NX with an expiry, so a replica that dies
// holding it blocks nobody for long), the others poll for its value
// within a bounded wait and compute locally if it does not come.
//
// Keys read cachelens:k<rules>:<function>:<code version>:<arguments>#r1:
// the key rules (cacheruntime.KeyVersion), the function's identity and
// code fingerprint (as Persist keys them) and the stable hash of the
// arguments, then this package's format; lock keys add ":lock".
//
// Redis down, slow or evicting never fails a call, nor holds it beyond a
// bounded time (Options.Timeout, 50 ms by default, per operation): the
// call computes locally, and the error is reported where the editor
// shows it. Values above a size limit are not stored (and reported);
// values above a threshold can be compressed. Any redis.UniversalClient
// works: a single server, Sentinel, or Redis Cluster.
//
// go-redis rather than rueidis: on this project's measurements (see
// docs/benchmarks.md in the repository) a GET through either client costs
// the same to within the noise on localhost, go-redis is the client most
// Go services already hold a configured instance of, and its
// UniversalClient covers single servers, Sentinel and Cluster with one
// type.
package redisstore
