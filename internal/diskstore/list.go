package diskstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// EnvDir names the environment variable that chooses the directory
// persisted results live under, instead of the user's cache directory.
const EnvDir = "CACHELENS_CACHE_DIR"

// Base returns the directory persisted results live under:
// $CACHELENS_CACHE_DIR, or "cachelens" in os.UserCacheDir().
func Base() (string, error) {
	if dir := os.Getenv(EnvDir); dir != "" {
		return dir, nil
	}
	ucd, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory: %w (set %s)", err, EnvDir)
	}
	return filepath.Join(ucd, "cachelens"), nil
}

// Root returns the directory under base for entries made by the key rules
// keyVersion (cacheruntime.KeyVersion) in this package's Format: entries
// made under other rules are in other roots and never read.
func Root(base string, keyVersion int) string {
	return filepath.Join(base, fmt.Sprintf("k%d-f%d", keyVersion, Format))
}

// Roots lists the roots under base, of any key rules and format.
func Roots(base string) ([]string, error) {
	ents, err := os.ReadDir(base)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("listing cached results: %w", err)
	}
	var out []string
	for _, e := range ents {
		var k, f int
		if n, _ := fmt.Sscanf(e.Name(), "k%d-f%d", &k, &f); e.IsDir() && n == 2 && strings.HasPrefix(e.Name(), "k") {
			out = append(out, filepath.Join(base, e.Name()))
		}
	}
	return out, nil
}

// BucketInfo describes one bucket, for listings.
type BucketInfo struct {
	Dir     string
	Meta    Meta // zero if the bucket's meta.json is missing or unreadable
	Entries int
	Bytes   int64
	Newest  time.Time // the most recent entry's modification time
	// Current is false for a bucket whose function has a newer bucket
	// (by its meta's creation time): entries of older code, never read by
	// the newer code and evicted first.
	Current bool
}

// List describes the buckets under root, ordered by function name and,
// within a function, newest first. A root that does not exist holds none.
func List(root string) ([]BucketInfo, error) {
	ids, err := os.ReadDir(root)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("listing cached results: %w", err)
	}
	var out []BucketInfo
	for _, id := range ids {
		if !id.IsDir() {
			continue
		}
		versions, err := os.ReadDir(filepath.Join(root, id.Name()))
		if err != nil {
			continue
		}
		var fn []BucketInfo
		for _, v := range versions {
			if !v.IsDir() {
				continue
			}
			fn = append(fn, describe(filepath.Join(root, id.Name(), v.Name())))
		}
		slices.SortFunc(fn, func(a, b BucketInfo) int { return b.Meta.Created.Compare(a.Meta.Created) })
		for i := range fn {
			fn[i].Current = i == 0
		}
		out = append(out, fn...)
	}
	slices.SortStableFunc(out, func(a, b BucketInfo) int {
		if a.Meta.Name < b.Meta.Name {
			return -1
		}
		if a.Meta.Name > b.Meta.Name {
			return 1
		}
		return 0
	})
	return out, nil
}

func describe(dir string) BucketInfo {
	bi := BucketInfo{Dir: dir}
	if b, err := os.ReadFile(filepath.Join(dir, metaName)); err == nil {
		_ = json.Unmarshal(b, &bi.Meta) // a damaged meta file leaves the description empty
	}
	filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || e.Name() == metaName || len(e.Name()) < 32 {
			return nil
		}
		info, err := e.Info()
		if err != nil {
			return nil
		}
		bi.Entries++
		bi.Bytes += info.Size()
		if info.ModTime().After(bi.Newest) {
			bi.Newest = info.ModTime()
		}
		return nil
	})
	return bi
}

// RemoveBucket deletes a bucket listed by List.
func RemoveBucket(b BucketInfo) error {
	if err := os.RemoveAll(b.Dir); err != nil {
		return fmt.Errorf("clearing %s: %w", b.Dir, err)
	}
	// The function's directory goes with its last bucket.
	os.Remove(filepath.Dir(b.Dir))
	return nil
}
