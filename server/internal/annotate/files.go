// Package annotate turns what programs reported (the insight store) into
// what the editor shows on a file: code lenses on cached functions, inlay
// hints at call sites, hover tables and runtime diagnostics. It places
// every annotation by static identity (package anchor), reading the
// version of the file the reporting program was built from, so
// annotations follow the code when lines move, and says when the program
// ran older code than the buffer shows.
//
// It serves the language server only and is not a stable API.
package annotate

import (
	"crypto/sha256"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/cachelens/cachelens/server/internal/anchor"

	"github.com/cachelens/cachelens/server/internal/srcfile"
)

// Buffers gives the current text of files: the editor's buffer when the
// file is open, else nothing (the disk is read).
type Buffers interface {
	// Buffer returns the open buffer's text and whether it differs from
	// the file on disk.
	Buffer(path string) (text []byte, dirty bool, ok bool)
}

// Files keeps indexes of file versions: the current buffers' and the
// on-disk versions seen over time (the newest few), so that a program
// built from an earlier version can be mapped to the current one. Its
// memory is bounded: indexes by the bytes of the texts they index
// (maxIndexBytes), disk versions by count per file and by bytes in all
// (maxVersions, maxDiskBytes); a closed file's entries go (Forget).
type Files struct {
	mu        sync.Mutex
	buffers   Buffers
	cache     map[indexKey]*indexEntry
	order     []indexKey // least recently used first
	cacheSize int        // bytes of the texts indexed
	sums      map[string]sumEntry
	disk      map[string][]diskVersion
	diskSize  int
	now       func() time.Time
}

type sumEntry struct {
	key indexKey
	sum [32]byte
}

type indexEntry struct {
	ix   *anchor.Index
	path string
}

// Bounds of what Files keeps.
const (
	maxIndexBytes = 32 << 20
	maxIndexes    = 64
	maxPerPath    = 3 // the current text, the one a program was built from, and one before
	maxDiskBytes  = 64 << 20
	// maxAnnotated is the largest file annotated: bigger ones (generated
	// tables, say) are not parsed for annotations.
	maxAnnotated = 8 << 20
)

type indexKey struct {
	// texts are never modified once made, so their identity (start and
	// length) is a key; equal texts in different slices are indexed
	// twice, which is only a little waste.
	data    *byte
	n       int
	holders string
}

type diskVersion struct {
	mtime time.Time
	size  int64
	text  []byte
	sum   [32]byte // SHA-256 of text
	seen  time.Time
}

// maxVersions bounds the on-disk versions remembered per file.
const maxVersions = 8

// newFiles returns an empty set of file indexes.
func newFiles(b Buffers) *Files {
	return &Files{buffers: b, cache: map[indexKey]*indexEntry{}, sums: map[string]sumEntry{}, disk: map[string][]diskVersion{}, now: time.Now}
}

func holderKey(h map[string]bool) string {
	names := make([]string, 0, len(h))
	for n := range h {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ",")
}

// holderSet is a set of holder names with its cache key.
type holderSet struct {
	names map[string]bool
	key   string
}

func newHolderSet(names map[string]bool) holderSet { return holderSet{names, holderKey(names)} }

// Defs returns the (cached) index of text for where its caches are
// defined (calls through holders of other files are not looked for).
func (f *Files) Defs(path string, text []byte) *anchor.Index {
	return f.index(path, text, holderSet{})
}

// index returns the (cached) index of text.
func (f *Files) index(path string, text []byte, holders holderSet) *anchor.Index {
	k := indexKey{unsafe.SliceData(text), len(text), holders.key}
	f.mu.Lock()
	e, ok := f.cache[k]
	if ok {
		f.touch(k)
	}
	f.mu.Unlock()
	if ok {
		return e.ix
	}
	ix := anchor.Parse(path, text, holders.names)
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.cache[k]; !ok {
		f.cache[k] = &indexEntry{ix: ix, path: path}
		f.order = append(f.order, k)
		f.cacheSize += len(text)
		same := 0
		for i := len(f.order) - 1; i >= 0; i-- {
			if e := f.cache[f.order[i]]; e != nil && e.path == path {
				if same++; same > maxPerPath {
					f.evict(f.order[i])
				}
			}
		}
		for len(f.order) > 1 && (f.cacheSize > maxIndexBytes || len(f.order) > maxIndexes) {
			f.evict(f.order[0])
		}
	}
	return ix
}

// touch marks k as the most recently used index. f.mu is held.
func (f *Files) touch(k indexKey) {
	if i := slices.Index(f.order, k); i >= 0 && i < len(f.order)-1 {
		copy(f.order[i:], f.order[i+1:])
		f.order[len(f.order)-1] = k
	}
}

// evict drops the index of k. f.mu is held.
func (f *Files) evict(k indexKey) {
	if _, ok := f.cache[k]; !ok {
		return
	}
	delete(f.cache, k)
	f.order = slices.DeleteFunc(f.order, func(x indexKey) bool { return x == k })
	f.cacheSize -= k.n
}

// Forget drops what is kept for path: its indexes and disk versions (the
// editor closed it).
func (f *Files) Forget(path string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for k, e := range f.cache {
		if e.path == path {
			f.evict(k)
		}
	}
	for _, v := range f.disk[path] {
		f.diskSize -= len(v.text)
	}
	delete(f.disk, path)
	delete(f.sums, path)
}

// Current returns the text of path as the editor shows it (the buffer, or
// the disk), whether the buffer has unsaved changes, and whether it
// exists.
func (f *Files) Current(path string) (text []byte, dirty bool, ok bool) {
	if f.buffers != nil {
		if t, d, ok := f.buffers.Buffer(path); ok {
			return t, d, true
		}
	}
	v, ok := f.latestDisk(path)
	return v.text, false, ok
}

// diskStamp returns the file's modification time and size, for cache keys.
func diskStamp(path string) (time.Time, int64) {
	fi, err := os.Stat(path)
	if err != nil {
		return time.Time{}, -1
	}
	return fi.ModTime(), fi.Size()
}

// latestDisk reads path from disk if it changed since last seen and
// remembers the version.
func (f *Files) latestDisk(path string) (diskVersion, bool) {
	fi, err := os.Stat(path)
	f.mu.Lock()
	defer f.mu.Unlock()
	vs := f.disk[path]
	if err != nil {
		if len(vs) > 0 {
			return vs[len(vs)-1], true
		}
		return diskVersion{}, false
	}
	if n := len(vs); n > 0 && vs[n-1].mtime.Equal(fi.ModTime()) && vs[n-1].size == fi.Size() {
		return vs[n-1], true
	}
	text, err := srcfile.Read(path)
	if err != nil {
		return diskVersion{}, false
	}
	v := diskVersion{mtime: fi.ModTime(), size: fi.Size(), text: text, sum: sha256.Sum256(text), seen: f.now()}
	vs = append(vs, v)
	f.diskSize += len(text)
	if len(vs) > maxVersions {
		for _, old := range vs[:len(vs)-maxVersions] {
			f.diskSize -= len(old.text)
		}
		vs = slices.Clone(vs[len(vs)-maxVersions:])
	}
	f.disk[path] = vs
	f.trimDisk(path)
	return v, true
}

// trimDisk drops the oldest disk versions of other files (then of path,
// keeping its newest) while the versions kept exceed maxDiskBytes. f.mu is
// held.
func (f *Files) trimDisk(path string) {
	for f.diskSize > maxDiskBytes {
		oldest, at := "", time.Time{}
		for p, vs := range f.disk {
			if len(vs) == 0 || p == path && len(vs) == 1 {
				continue
			}
			if oldest == "" || vs[0].seen.Before(at) {
				oldest, at = p, vs[0].seen
			}
		}
		if oldest == "" {
			return
		}
		vs := f.disk[oldest]
		f.diskSize -= len(vs[0].text)
		if len(vs) == 1 {
			delete(f.disk, oldest)
		} else {
			f.disk[oldest] = slices.Clone(vs[1:])
		}
	}
}

// Saw records the file's on-disk contents now (the editor saved or opened
// it), so the version survives later saves.
func (f *Files) Saw(path string) { f.latestDisk(path) }

// ByHash returns the version of path whose content hash is sum — the
// current text (buffer or disk), or an earlier on-disk version seen — so
// that a program's view of a file can be mapped onto what the editor
// shows.
func (f *Files) ByHash(path string, sum [32]byte) ([]byte, bool) {
	if cur, _, ok := f.Current(path); ok && f.Sum(path, cur) == sum {
		return cur, true
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	vs := f.disk[path]
	for i := len(vs) - 1; i >= 0; i-- {
		if vs[i].sum == sum {
			return vs[i].text, true
		}
	}
	return nil, false
}

// Sum returns the SHA-256 of the text of path, remembering the last one
// per path (texts are never modified once made, so the identity of the
// slice is a key; one per path keeps few texts alive).
func (f *Files) Sum(path string, text []byte) [32]byte {
	k := indexKey{unsafe.SliceData(text), len(text), ""}
	f.mu.Lock()
	e, ok := f.sums[path]
	f.mu.Unlock()
	if ok && e.key == k {
		return e.sum
	}
	sum := sha256.Sum256(text)
	f.mu.Lock()
	f.sums[path] = sumEntry{k, sum}
	f.mu.Unlock()
	return sum
}
