// Package annotate turns what programs reported (the insight store) into
// what the editor shows on a file: code lenses on cached functions, inlay
// hints at call sites, hover tables and runtime diagnostics. It places
// every annotation by static identity (package anchor), reading the
// version of the file the reporting program was built from, so
// annotations follow the code when lines move, and says when the program
// ran older code than the buffer shows.
package annotate

import (
	"crypto/sha256"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/cachelens/cachelens/server/anchor"
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
// built from an earlier version can be mapped to the current one.
type Files struct {
	mu      sync.Mutex
	buffers Buffers
	cache   map[indexKey]*anchor.Index
	sums    map[indexKey][32]byte
	disk    map[string][]diskVersion
	now     func() time.Time
}

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

// NewFiles returns an empty set of file indexes.
func NewFiles(b Buffers) *Files {
	return &Files{buffers: b, cache: map[indexKey]*anchor.Index{}, sums: map[indexKey][32]byte{}, disk: map[string][]diskVersion{}, now: time.Now}
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

// index returns the (cached) index of text.
func (f *Files) index(path string, text []byte, holders holderSet) *anchor.Index {
	k := indexKey{unsafe.SliceData(text), len(text), holders.key}
	f.mu.Lock()
	ix, ok := f.cache[k]
	f.mu.Unlock()
	if ok {
		return ix
	}
	ix = anchor.Parse(path, text, holders.names)
	f.mu.Lock()
	if len(f.cache) > 1024 {
		clear(f.cache) // drops the references to old texts too
	}
	f.cache[k] = ix
	f.mu.Unlock()
	return ix
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
	text, err := os.ReadFile(path)
	if err != nil {
		return diskVersion{}, false
	}
	v := diskVersion{mtime: fi.ModTime(), size: fi.Size(), text: text, sum: sha256.Sum256(text), seen: f.now()}
	vs = append(vs, v)
	if len(vs) > maxVersions {
		vs = vs[len(vs)-maxVersions:]
	}
	f.disk[path] = vs
	return v, true
}

// Saw records the file's on-disk contents now (the editor saved or opened
// it), so the version survives later saves.
func (f *Files) Saw(path string) { f.latestDisk(path) }

// ByHash returns the version of path whose content hash is sum — the
// current text (buffer or disk), or an earlier on-disk version seen — so
// that a program's view of a file can be mapped onto what the editor
// shows.
func (f *Files) ByHash(path string, sum [32]byte) ([]byte, bool) {
	if cur, _, ok := f.Current(path); ok && f.Sum(cur) == sum {
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

// Sum returns the SHA-256 of text, remembered by the text's identity (texts
// are never modified once made).
func (f *Files) Sum(text []byte) [32]byte {
	k := indexKey{unsafe.SliceData(text), len(text), ""}
	f.mu.Lock()
	sum, ok := f.sums[k]
	f.mu.Unlock()
	if ok {
		return sum
	}
	sum = sha256.Sum256(text)
	f.mu.Lock()
	if len(f.sums) > 256 {
		clear(f.sums)
	}
	f.sums[k] = sum
	f.mu.Unlock()
	return sum
}
