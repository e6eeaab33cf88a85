package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cachelens/cachelens/cacheruntime"
	"github.com/cachelens/cachelens/internal/diskstore"
)

func double(n int) int { return 2 * n }

func name(s string) string { return "name " + s }

// TestCacheCommand: list what two persisted functions stored (and an
// older version of one), clear the stale entries, then one function's,
// then everything.
func TestCacheCommand(t *testing.T) {
	base := t.TempDir()
	d := cacheruntime.Func1(double, cacheruntime.PersistDir(base), cacheruntime.NoReport())
	n := cacheruntime.Func1(name, cacheruntime.PersistDir(base), cacheruntime.NoReport())
	d(1)
	d(2)
	n("x")
	// An entry of an older version of some function, and one made under
	// other key rules.
	root := diskstore.Root(base, cacheruntime.KeyVersion)
	old, err := diskstore.Open(root, 0).Bucket(1, 1, diskstore.Meta{Name: "main.old", Binding: "old", Created: time.Now().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	old.Put([2]uint64{1, 2}, []byte("x"), time.Time{})
	newer, _ := diskstore.Open(root, 0).Bucket(1, 2, diskstore.Meta{Name: "main.old", Binding: "old", Created: time.Now()})
	newer.Put([2]uint64{1, 2}, []byte("y"), time.Time{})
	rules, _ := diskstore.Open(diskstore.Root(base, 0), 0).Bucket(2, 2, diskstore.Meta{Name: "main.ancient", Created: time.Now()})
	rules.Put([2]uint64{1, 2}, []byte("z"), time.Time{})

	// cmd runs cachelens cache [sub] -dir base [args...].
	cmd := func(args ...string) (string, string, int) {
		var out, errOut bytes.Buffer
		full := []string{"cache"}
		if len(args) > 0 {
			full = append(full, args[0])
			args = args[1:]
		}
		full = append(append(full, "-dir", base), args...)
		code := run(full, nil, &out, &errOut)
		return out.String(), errOut.String(), code
	}
	out, errOut, code := cmd()
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"FUNCTION", "cachelens.double", "TestCacheCommand: d", "cachecmd_test.go:", "cachelens.name", "main.old", "stale (older code)", "stale (older key rules)", "6 entries"} {
		if !strings.Contains(out, want) {
			t.Errorf("list lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(lineWith(out, "cachelens.double"), "  2  ") {
		t.Errorf("main.double should have 2 entries:\n%s", out)
	}

	out, _, _ = cmd("list", "-json")
	var items []struct {
		Name    string `json:"name"`
		Entries int    `json:"entries"`
		Stale   bool   `json:"stale"`
	}
	if err := json.Unmarshal([]byte(out), &items); err != nil || len(items) != 5 {
		t.Fatalf("json: %v %s", err, out)
	}

	out, _, code = cmd("clear", "-stale")
	if code != 0 || !strings.Contains(out, "removed 2 entries") || !strings.Contains(out, "of 2 cached function versions") {
		t.Errorf("clear -stale: %d %s", code, out)
	}
	if _, err := os.Stat(old.Dir()); !os.IsNotExist(err) {
		t.Error("the older version is still there")
	}
	if _, err := os.Stat(newer.Dir()); err != nil {
		t.Error("clear -stale removed the current version")
	}

	out, _, code = cmd("clear", "double")
	if code != 0 || !strings.Contains(out, "removed 2 entries") {
		t.Errorf("clear double: %d %s", code, out)
	}
	// A new cache over the cleared function computes again.
	calls := 0
	again := cacheruntime.Func1(func(n int) int { calls++; return double(n) }, cacheruntime.PersistDir(base), cacheruntime.NoReport(), cacheruntime.Name("again"))
	again(1)
	if calls != 1 {
		t.Errorf("computed %d times", calls)
	}
	if _, errOut, code := cmd("clear", "nothing-by-that-name"); code != 1 || !strings.Contains(errOut, "no persisted function named nothing-by-that-name") {
		t.Errorf("clearing an unknown name: %d %s", code, errOut)
	}
	out, _, _ = cmd("clear")
	if !strings.Contains(out, "removed 3 entries") {
		t.Errorf("clear: %s", out)
	}
	out, _, _ = cmd()
	if !strings.Contains(out, "nothing persisted under "+base) {
		t.Errorf("after clearing: %s", out)
	}
	if _, _, code := cmd("frob"); code != 2 {
		t.Errorf("an unknown subcommand exits %d", code)
	}
}

func lineWith(text, sub string) string {
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	return ""
}
