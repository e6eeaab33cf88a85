// Package diskstore keeps cached results in files, for cacheruntime's
// Persist option and the `cachelens cache` command: crash-safe, safe with
// many processes at once, bounded in bytes with least-recently-used
// eviction, and honest about what it reads — a torn, truncated or
// corrupted file is an error the caller reports and a miss, never a wrong
// result.
//
// A directory (Dir) holds buckets, one per version of a cached function:
//
//	<root>/<function id>/<code fingerprint>/meta.json
//	<root>/<function id>/<code fingerprint>/<kk>/<key>
//
// where the function id and code fingerprint are 16 hex digits chosen by
// the caller, <key> is the 128-bit key in 32 hex digits and <kk> its first
// two. Buckets of the same function with another code fingerprint are the
// function's older (or newer) code: their entries are never read by this
// bucket, and eviction takes them first because nothing reads them.
//
// An entry file is a 64-byte header and the payload:
//
//	0  [8]byte magic "cachelnE"
//	8  u32 format (Format)
//	12 u32 flags (0)
//	16 [16]byte key
//	32 i64 created, unix nanoseconds
//	40 i64 expires, unix nanoseconds (0: never)
//	48 u64 payload length
//	56 u32 CRC-32C of the file with this field zeroed, u32 0
//
// Writers write a temporary file in the entry's directory, fsync it and
// rename it over the entry, so readers see a whole old file or a whole new
// one; the checksum catches what a crash or a disk still tears. Readers
// refresh an entry's modification time (at most once a minute), which is
// the recency eviction orders by, across processes.
package diskstore

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Format is the entry file layout's version. Entries of another format
// are corrupt to this reader: the directory above the buckets names the
// format (see cacheruntime), so that never happens by accident.
const Format = 1

const (
	magic      = "cachelnE"
	headerSize = 64
	metaName   = "meta.json"
	lockName   = ".collect.lock"
	tmpPrefix  = ".tmp-"
)

// ErrNotFound: no entry for the key.
var ErrNotFound = errors.New("no entry")

// ErrExpired: the entry's TTL passed (the file is removed).
var ErrExpired = errors.New("expired")

// A CorruptError is an entry file that failed its checks: torn by a
// crash, truncated, or changed by something else. The file is removed.
type CorruptError struct {
	Path string
	Why  string
}

func (e *CorruptError) Error() string { return fmt.Sprintf("corrupt entry %s: %s", e.Path, e.Why) }

// Meta describes a bucket's function, for listings: written once, when
// the bucket is made.
type Meta struct {
	Name    string    `json:"name"`              // the cache's name (its function's, by default)
	Binding string    `json:"binding"`           // what the cache is bound to: its variable, or its Func call's place
	Sig     string    `json:"sig"`               // the function's type
	File    string    `json:"file"`              // where the cache was defined
	Line    int       `json:"line"`              //
	Program string    `json:"program"`           // the main package of the process that made the bucket
	Code    string    `json:"code"`              // what the code fingerprint covers
	Created time.Time `json:"created"`           //
	TTL     string    `json:"ttl,omitempty"`     // the cache's TTL, if any
	KeyRule int       `json:"keyRule,omitempty"` // cacheruntime.KeyVersion
}

// A Dir is a directory of buckets with one byte bound. Open one Dir per
// root in a process: it keeps the running total the bound is enforced by.
type Dir struct {
	root     string
	maxBytes int64
	now      func() time.Time

	used       atomic.Int64 // bytes in entries, as last counted plus writes since
	collecting atomic.Bool
	scanOnce   sync.Once
	wg         sync.WaitGroup
}

// Open returns the directory at root bounded to maxBytes (<= 0: no bound).
// It makes nothing on disk until the first bucket is made; it counts what
// is there in the background (Wait waits for that).
func Open(root string, maxBytes int64) *Dir {
	return &Dir{root: root, maxBytes: maxBytes, now: time.Now}
}

// Root returns the directory's path.
func (d *Dir) Root() string { return d.root }

// Used returns the bytes the directory's entries hold, as this process
// last counted them plus what it wrote since.
func (d *Dir) Used() int64 { return d.used.Load() }

// Wait waits for background counting and eviction to finish.
func (d *Dir) Wait() { d.wg.Wait() }

// A Bucket is the entries of one version of one function.
type Bucket struct {
	d     *Dir
	dir   string
	stale []string // sibling buckets: the function's other code versions
}

// Bucket returns the bucket for the function id and code fingerprint,
// making it (with meta) if it does not exist.
func (d *Dir) Bucket(id, code uint64, meta Meta) (*Bucket, error) {
	fdir := filepath.Join(d.root, fmt.Sprintf("%016x", id))
	dir := filepath.Join(fdir, fmt.Sprintf("%016x", code))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("making the cache directory: %w", err)
	}
	if _, err := os.Stat(filepath.Join(dir, metaName)); errors.Is(err, fs.ErrNotExist) {
		b, err := json.MarshalIndent(meta, "", "\t")
		if err != nil {
			return nil, fmt.Errorf("describing the bucket: %w", err)
		}
		if err := WriteFile(dir, metaName, b); err != nil {
			return nil, fmt.Errorf("describing the bucket: %w", err)
		}
	}
	b := &Bucket{d: d, dir: dir}
	if ents, err := os.ReadDir(fdir); err == nil {
		for _, e := range ents {
			if e.IsDir() && e.Name() != filepath.Base(dir) {
				b.stale = append(b.stale, filepath.Join(fdir, e.Name()))
			}
		}
	}
	d.scanOnce.Do(func() {
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			if n, err := d.count(); err == nil {
				d.used.Add(n)
				d.maybeCollect()
			}
		}()
	})
	return b, nil
}

// Dir returns the bucket's directory.
func (b *Bucket) Dir() string { return b.dir }

// Stale reports whether the function's code changed since entries were
// stored: other versions of it have buckets here.
func (b *Bucket) Stale() bool { return len(b.stale) > 0 }

// InStale reports whether another version of the function's code stored
// an entry for key: a miss here is then "code changed".
func (b *Bucket) InStale(key [2]uint64) bool {
	for _, s := range b.stale {
		if _, err := os.Stat(filepath.Join(s, keyPath(key))); err == nil {
			return true
		}
	}
	return false
}

func keyPath(key [2]uint64) string {
	var k [16]byte
	binary.BigEndian.PutUint64(k[:8], key[0])
	binary.BigEndian.PutUint64(k[8:], key[1])
	h := hex.EncodeToString(k[:])
	return filepath.Join(h[:2], h)
}

// Path returns where the entry for key is.
func (b *Bucket) Path(key [2]uint64) string { return filepath.Join(b.dir, keyPath(key)) }

// castagnoli is made on first use: a program that imports the package
// and never persists does not pay for the table at start.
var castagnoli = sync.OnceValue(func() *crc32.Table { return crc32.MakeTable(crc32.Castagnoli) })

// Get returns the payload stored for key and when it expires (zero:
// never). Errors: ErrNotFound, ErrExpired, a *CorruptError, or what the
// file system said.
func (b *Bucket) Get(key [2]uint64) (payload []byte, expires time.Time, err error) {
	path := b.Path(key)
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, time.Time{}, ErrNotFound
		}
		return nil, time.Time{}, fmt.Errorf("reading a cached result: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("reading a cached result: %w", err)
	}
	size := st.Size()
	if size < headerSize {
		b.drop(path, size)
		return nil, time.Time{}, &CorruptError{path, fmt.Sprintf("%d bytes, shorter than a header", size)}
	}
	buf := make([]byte, size)
	if _, err := readFull(f, buf); err != nil {
		return nil, time.Time{}, fmt.Errorf("reading a cached result: %w", err)
	}
	if why := check(buf, key); why != "" {
		b.drop(path, size)
		return nil, time.Time{}, &CorruptError{path, why}
	}
	now := b.d.now()
	if ex := int64(binary.LittleEndian.Uint64(buf[40:])); ex != 0 {
		expires = time.Unix(0, ex)
		if !now.Before(expires) {
			b.drop(path, size)
			return nil, time.Time{}, ErrExpired
		}
	}
	if now.Sub(st.ModTime()) > time.Minute {
		// Recency for eviction; failing to record it costs nothing else.
		_ = os.Chtimes(path, now, now)
	}
	return buf[headerSize:], expires, nil
}

func readFull(f *os.File, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := f.Read(buf[n:])
		n += m
		if err != nil {
			if n == len(buf) {
				break
			}
			return n, err
		}
	}
	return n, nil
}

// check returns why buf is not a whole entry for key, or "".
func check(buf []byte, key [2]uint64) string {
	if string(buf[:8]) != magic {
		return "not an entry file"
	}
	if v := binary.LittleEndian.Uint32(buf[8:]); v != Format {
		return fmt.Sprintf("format %d, want %d", v, Format)
	}
	if n := binary.LittleEndian.Uint64(buf[48:]); n != uint64(len(buf)-headerSize) {
		return fmt.Sprintf("payload of %d bytes, header says %d (torn or truncated)", len(buf)-headerSize, n)
	}
	want := binary.LittleEndian.Uint32(buf[56:])
	if got := checksum(buf); got != want {
		return fmt.Sprintf("checksum %08x, want %08x", got, want)
	}
	if binary.BigEndian.Uint64(buf[16:]) != key[0] || binary.BigEndian.Uint64(buf[24:]) != key[1] {
		return "holds another key"
	}
	return ""
}

// checksum is the CRC-32C of buf with the checksum field read as zero.
func checksum(buf []byte) uint32 {
	var zero [4]byte
	c := crc32.Update(0, castagnoli(), buf[:56])
	c = crc32.Update(c, castagnoli(), zero[:])
	return crc32.Update(c, castagnoli(), buf[60:])
}

// Encode returns the entry file for key and payload.
func Encode(key [2]uint64, payload []byte, created, expires time.Time) []byte {
	buf := make([]byte, headerSize+len(payload))
	copy(buf, magic)
	binary.LittleEndian.PutUint32(buf[8:], Format)
	binary.BigEndian.PutUint64(buf[16:], key[0])
	binary.BigEndian.PutUint64(buf[24:], key[1])
	binary.LittleEndian.PutUint64(buf[32:], uint64(created.UnixNano()))
	if !expires.IsZero() {
		binary.LittleEndian.PutUint64(buf[40:], uint64(expires.UnixNano()))
	}
	binary.LittleEndian.PutUint64(buf[48:], uint64(len(payload)))
	copy(buf[headerSize:], payload)
	binary.LittleEndian.PutUint32(buf[56:], checksum(buf))
	return buf
}

// Put stores payload for key, expiring at expires (zero: never).
func (b *Bucket) Put(key [2]uint64, payload []byte, expires time.Time) error {
	buf := Encode(key, payload, b.d.now(), expires)
	path := b.Path(key)
	err := WriteFile(filepath.Dir(path), filepath.Base(path), buf)
	if errors.Is(err, fs.ErrNotExist) {
		if err = os.MkdirAll(filepath.Dir(path), 0o700); err == nil {
			err = WriteFile(filepath.Dir(path), filepath.Base(path), buf)
		}
	}
	if err != nil {
		return fmt.Errorf("storing a result: %w", err)
	}
	if b.d.used.Add(int64(len(buf))) > b.d.maxBytes && b.d.maxBytes > 0 {
		b.d.maybeCollect()
	}
	return nil
}

// Remove deletes the entry for key, reporting whether there was one.
func (b *Bucket) Remove(key [2]uint64) bool {
	path := b.Path(key)
	st, err := os.Stat(path)
	if err != nil {
		return false
	}
	b.drop(path, st.Size())
	return true
}

// Clear removes the bucket's entries.
func (b *Bucket) Clear() {
	ents, err := os.ReadDir(b.dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if e.IsDir() {
			var n int64
			filepath.WalkDir(filepath.Join(b.dir, e.Name()), func(_ string, f fs.DirEntry, err error) error {
				if err == nil && !f.IsDir() {
					if info, err := f.Info(); err == nil {
						n += info.Size()
					}
				}
				return nil
			})
			if os.RemoveAll(filepath.Join(b.dir, e.Name())) == nil {
				b.d.used.Add(-n)
			}
		}
	}
}

func (b *Bucket) drop(path string, size int64) {
	if os.Remove(path) == nil {
		b.d.used.Add(-size)
	}
}

// WriteFile writes dir/name whole or not at all: a temporary file in dir,
// fsynced, renamed over name. Readers see the old file or the new one.
func WriteFile(dir, name string, data []byte) (err error) {
	f, err := os.CreateTemp(dir, tmpPrefix+"*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), filepath.Join(dir, name))
}

// count returns the bytes the directory's entries hold.
func (d *Dir) count() (int64, error) {
	var n int64
	err := d.walk(func(f fileInfo) { n += f.size })
	return n, err
}

type fileInfo struct {
	path  string
	size  int64
	mtime time.Time
}

// walk calls f for each entry file under the root (not meta files,
// temporary files or the lock).
func (d *Dir) walk(f func(fileInfo)) error {
	err := filepath.WalkDir(d.root, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			if path == d.root && errors.Is(err, fs.ErrNotExist) {
				return fs.SkipAll
			}
			return nil // a directory removed meanwhile, or unreadable: skip it
		}
		if e.IsDir() || e.Name() == metaName || e.Name() == lockName {
			return nil
		}
		info, err := e.Info()
		if err != nil {
			return nil
		}
		if strings.HasPrefix(e.Name(), tmpPrefix) {
			// A writer that crashed before its rename left this.
			if d.now().Sub(info.ModTime()) > time.Hour {
				os.Remove(path)
			}
			return nil
		}
		f(fileInfo{path, info.Size(), info.ModTime()})
		return nil
	})
	return err
}

// maybeCollect starts eviction in the background when over the bound.
func (d *Dir) maybeCollect() {
	if d.maxBytes <= 0 || d.used.Load() <= d.maxBytes || !d.collecting.CompareAndSwap(false, true) {
		return
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		defer d.collecting.Store(false)
		d.Collect()
	}()
}

// Collect evicts the least recently used entries until the directory
// holds at most 90% of its bound. One process collects at a time (a lock
// file; one older than two minutes is taken over).
func (d *Dir) Collect() error {
	if d.maxBytes <= 0 {
		return nil
	}
	lock := filepath.Join(d.root, lockName)
	f, err := os.OpenFile(lock, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if errors.Is(err, fs.ErrExist) {
		if st, serr := os.Stat(lock); serr == nil && d.now().Sub(st.ModTime()) > 2*time.Minute {
			os.Remove(lock)
			f, err = os.OpenFile(lock, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		}
	}
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil // another process collects
		}
		return fmt.Errorf("evicting cached results: %w", err)
	}
	f.Close()
	defer os.Remove(lock)

	var files []fileInfo
	var total int64
	if err := d.walk(func(f fileInfo) { files = append(files, f); total += f.size }); err != nil {
		return fmt.Errorf("evicting cached results: %w", err)
	}
	target := d.maxBytes / 10 * 9
	if total > target {
		slices.SortFunc(files, func(a, b fileInfo) int { return a.mtime.Compare(b.mtime) })
		for _, f := range files {
			if total <= target {
				break
			}
			if err := os.Remove(f.path); err == nil || errors.Is(err, fs.ErrNotExist) {
				total -= f.size
			}
		}
	}
	d.used.Store(total)
	return nil
}
