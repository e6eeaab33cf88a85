package cacheruntime_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cachelens/cachelens/cacheruntime"
)

// TestRunFileSafety: the run file is created 0600 in a 0700 directory of
// the user's; a directory others may enter, or one another user owns, or a
// symlink planted where the directory would be, is never used: the run file
// goes to a private directory beside it (which the server also reads), and
// the caches still count.
func TestRunFileSafety(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "runs")
	rep := cacheruntime.NewReporter(cacheruntime.ReporterOptions{Runs: dir, Socket: "/nonexistent"})
	defer rep.Close()
	path := rep.RunFile()
	if path == "" {
		t.Fatal("no run file in a fresh directory")
	}
	for p, want := range map[string]os.FileMode{dir: 0o700, path: 0o600} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v (%v), want %v", p, fi.Mode().Perm(), err, want)
		}
	}

	loose := t.TempDir()
	os.Chmod(loose, 0o755)
	r2 := cacheruntime.NewReporter(cacheruntime.ReporterOptions{Runs: loose, Socket: "/nonexistent"})
	defer r2.Close()
	privateBeside(t, loose, r2.RunFile())
	var h cacheruntime.Handle
	f := cacheruntime.Func1(func(x int) int { return x }, cacheruntime.WithReporter(r2), cacheruntime.WithHandle(&h))
	f(1)
	f(1)
	if s := h.Stats(); s.Hits != 1 || s.Misses != 1 {
		t.Errorf("counting without a run file: %+v", s)
	}
	entries, _ := os.ReadDir(loose)
	if len(entries) != 0 {
		t.Errorf("wrote into the loose directory: %v", entries)
	}

	// A symlink where a directory should be, pointing to a directory
	// another user prepared, is refused when it is not private.
	target := t.TempDir()
	os.Chmod(target, 0o777)
	link := filepath.Join(t.TempDir(), "runs")
	os.Symlink(target, link)
	r3 := cacheruntime.NewReporter(cacheruntime.ReporterOptions{Runs: link, Socket: "/nonexistent"})
	defer r3.Close()
	privateBeside(t, link, r3.RunFile())
	if entries, _ := os.ReadDir(target); len(entries) != 0 {
		t.Errorf("wrote into the symlinked directory: %v", entries)
	}

	if os.Getuid() == 0 {
		squatted := t.TempDir()
		os.Chmod(squatted, 0o700)
		os.Chown(squatted, 65534, 65534)
		r4 := cacheruntime.NewReporter(cacheruntime.ReporterOptions{Runs: squatted, Socket: "/nonexistent"})
		defer r4.Close()
		privateBeside(t, squatted, r4.RunFile())
		if !strings.Contains(r4.RunFileNote(), "owned by uid 65534") {
			t.Errorf("no note on the directory owned by another user: %q", r4.RunFileNote())
		}
	}
}

// privateBeside fails t unless file is in a private directory of the
// user's named "<refused>-<random>", beside the refused directory.
func privateBeside(t *testing.T, refused, file string) {
	t.Helper()
	if file == "" {
		t.Errorf("no run file when %s cannot be used", refused)
		return
	}
	dir := filepath.Dir(file)
	if !strings.HasPrefix(dir, refused+"-") {
		t.Errorf("run file %s is not in a private directory beside %s", file, refused)
	}
	fi, err := os.Lstat(dir)
	if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Errorf("%s: %v (%v), want a directory of mode 0700", dir, fi.Mode(), err)
	}
}
