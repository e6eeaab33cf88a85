// Package cacheruntime is a stub of the real package's API for the
// analyzers' tests (analysistest runs in GOPATH mode). TestStubMatchesAPI
// in package diagnostics keeps it in sync.
package cacheruntime

import "time"

type Option struct{ f func() }

type Handle struct{ n int }

func (h *Handle) Clear()                           {}
func (h *Handle) Forget(args ...any) (bool, error) { return false, nil }
func (h *Handle) Name() string                     { return "" }

type Key [2]uint64

func Func[F any](fn F, opts ...Option) F                                       { return fn }
func Func0[R any](fn func() R, opts ...Option) func() R                        { return fn }
func Func1[A, R any](fn func(A) R, opts ...Option) func(A) R                   { return fn }
func Func2[A, B, R any](fn func(A, B) R, opts ...Option) func(A, B) R          { return fn }
func Func3[A, B, C, R any](fn func(A, B, C) R, opts ...Option) func(A, B, C) R { return fn }
func Func0E[R any](fn func() (R, error), opts ...Option) func() (R, error)     { return fn }
func Func1E[A, R any](fn func(A) (R, error), opts ...Option) func(A) (R, error) {
	return fn
}
func Func2E[A, B, R any](fn func(A, B) (R, error), opts ...Option) func(A, B) (R, error) {
	return fn
}
func Func3E[A, B, C, R any](fn func(A, B, C) (R, error), opts ...Option) func(A, B, C) (R, error) {
	return fn
}

func HashFunc[T any](h func(T) any) Option         { return Option{} }
func AllowOutputMutation() Option                  { return Option{} }
func TTL(d time.Duration) Option                   { return Option{} }
func MaxEntries(n int) Option                      { return Option{} }
func Strict() Option                               { return Option{} }
func WithHandle(h *Handle) Option                  { return Option{} }
func Name(name string) Option                      { return Option{} }
func NoReport() Option                             { return Option{} }
func Clone[T any](v T) T                           { return v }
func Hash[T any](v T, opts ...Option) (Key, error) { return Key{}, nil }
func Flush()                                       {}

type Codec interface {
	Marshal(v any) ([]byte, error)
	Unmarshal(data []byte, v any) error
}

func Persist() Option                { return Option{} }
func PersistDir(dir string) Option   { return Option{} }
func PersistMaxBytes(n int64) Option { return Option{} }
func WithCodec(c Codec) Option       { return Option{} }

type Store interface {
	Name() string
	Location() string
	Get(key string) (value []byte, ok bool, err error)
	Set(key string, value []byte, ttl time.Duration) error
	Delete(key string) (bool, error)
	Clear(prefix string) error
	Lock(key string) (unlock func(), ok bool, err error)
	Wait(key string) (value []byte, ok bool, err error)
}

type Stats struct{}

func WithStore(s Store) Option { return Option{} }
func AllStats() []Stats        { return nil }
