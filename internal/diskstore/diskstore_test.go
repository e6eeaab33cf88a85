package diskstore

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

func bucket(t *testing.T, d *Dir, code uint64) *Bucket {
	t.Helper()
	b, err := d.Bucket(0xf00d, code, Meta{Name: "main.load", Created: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRoundTrip(t *testing.T) {
	d := Open(t.TempDir(), 0)
	b := bucket(t, d, 1)
	key := [2]uint64{1, 2}
	if _, _, err := b.Get(key); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get before Put: %v, want ErrNotFound", err)
	}
	if err := b.Put(key, []byte("hello"), time.Time{}); err != nil {
		t.Fatal(err)
	}
	got, exp, err := b.Get(key)
	if err != nil || string(got) != "hello" || !exp.IsZero() {
		t.Fatalf("Get = %q, %v, %v", got, exp, err)
	}
	if _, _, err := b.Get([2]uint64{1, 3}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("another key: %v", err)
	}
	// A new payload replaces the old one whole.
	if err := b.Put(key, bytes.Repeat([]byte("x"), 1<<20), time.Time{}); err != nil {
		t.Fatal(err)
	}
	if got, _, err := b.Get(key); err != nil || len(got) != 1<<20 {
		t.Fatalf("after replacing: %d bytes, %v", len(got), err)
	}
	d.Wait()
}

// Every way a file can be damaged is an error naming the file, the file
// goes, and the next Get is a plain miss.
func TestCorruption(t *testing.T) {
	key := [2]uint64{7, 8}
	for _, tc := range []struct {
		name, why string
		damage    func([]byte) []byte
	}{
		{"flipped payload bit", "checksum", func(b []byte) []byte { b[len(b)-1] ^= 1; return b }},
		{"flipped header bit", "checksum", func(b []byte) []byte { b[35] ^= 0x10; return b }},
		{"truncated", "torn or truncated", func(b []byte) []byte { return b[:len(b)-3] }},
		{"torn to a header", "torn or truncated", func(b []byte) []byte { return b[:headerSize] }},
		{"shorter than a header", "shorter than a header", func(b []byte) []byte { return b[:10] }},
		{"empty", "shorter than a header", func(b []byte) []byte { return nil }},
		{"not ours", "not an entry file", func(b []byte) []byte { copy(b, "gobgobgo"); return b }},
		{"another format", "format 9", func(b []byte) []byte { b[8] = 9; return b }},
		{"another key's file", "another key", func(b []byte) []byte { return Encode([2]uint64{9, 9}, []byte("payload"), time.Now(), time.Time{}) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := Open(t.TempDir(), 0)
			b := bucket(t, d, 1)
			if err := b.Put(key, []byte("payload"), time.Time{}); err != nil {
				t.Fatal(err)
			}
			path := b.Path(key)
			raw, _ := os.ReadFile(path)
			if err := os.WriteFile(path, tc.damage(raw), 0o600); err != nil {
				t.Fatal(err)
			}
			_, _, err := b.Get(key)
			var ce *CorruptError
			if !errors.As(err, &ce) || ce.Path != path || !bytes.Contains([]byte(ce.Why), []byte(tc.why)) {
				t.Fatalf("Get = %v, want a CorruptError for %s saying %q", err, path, tc.why)
			}
			if _, err := os.Stat(path); !os.IsNotExist(err) {
				t.Errorf("the corrupt file is still there: %v", err)
			}
			if _, _, err := b.Get(key); !errors.Is(err, ErrNotFound) {
				t.Errorf("second Get = %v, want ErrNotFound", err)
			}
			d.Wait()
		})
	}
}

func TestExpiry(t *testing.T) {
	d := Open(t.TempDir(), 0)
	now := time.Now()
	d.now = func() time.Time { return now }
	b := bucket(t, d, 1)
	key := [2]uint64{1, 1}
	if err := b.Put(key, []byte("v"), now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, exp, err := b.Get(key); err != nil || !exp.Equal(now.Add(time.Hour)) {
		t.Fatalf("before expiry: %v, %v", exp, err)
	}
	now = now.Add(time.Hour)
	if _, _, err := b.Get(key); !errors.Is(err, ErrExpired) {
		t.Fatalf("at expiry: %v, want ErrExpired", err)
	}
	if _, _, err := b.Get(key); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after expiry: %v, want ErrNotFound", err)
	}
	d.Wait()
}

// Another code version's bucket is stale: its entries are not read, but
// a key it holds is known to have been stored by other code.
func TestStaleVersions(t *testing.T) {
	root := t.TempDir()
	d := Open(root, 0)
	old := bucket(t, d, 1)
	key := [2]uint64{3, 4}
	if err := old.Put(key, []byte("old"), time.Time{}); err != nil {
		t.Fatal(err)
	}
	if old.Stale() {
		t.Error("the only version is stale")
	}
	cur := bucket(t, d, 2)
	if !cur.Stale() || !cur.InStale(key) || cur.InStale([2]uint64{5, 5}) {
		t.Errorf("Stale() = %v, InStale(stored) = %v, InStale(other) = %v", cur.Stale(), cur.InStale(key), cur.InStale([2]uint64{5, 5}))
	}
	if _, _, err := cur.Get(key); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the new version read the old one's entry: %v", err)
	}
	d.Wait()
}

// Eviction takes the least recently read entries first, down to 90% of
// the bound, and leaves crashed writers' temporary files an hour.
func TestCollectLRU(t *testing.T) {
	root := t.TempDir()
	d := Open(root, 10_000)
	b := bucket(t, d, 1)
	payload := make([]byte, 1000-headerSize) // 1000-byte files
	base := time.Now().Add(-time.Hour)
	for i := range 8 {
		key := [2]uint64{uint64(i), 0}
		if err := b.Put(key, payload, time.Time{}); err != nil {
			t.Fatal(err)
		}
		// Entry i was last read at base+i minutes.
		at := base.Add(time.Duration(i) * time.Minute)
		os.Chtimes(b.Path(key), at, at)
	}
	// Reading entry 0 makes it the most recent.
	if _, _, err := b.Get([2]uint64{0, 0}); err != nil {
		t.Fatal(err)
	}
	oldTmp := filepath.Join(b.Dir(), tmpPrefix+"crashed")
	newTmp := filepath.Join(b.Dir(), tmpPrefix+"writing")
	os.WriteFile(oldTmp, []byte("x"), 0o600)
	os.WriteFile(newTmp, []byte("x"), 0o600)
	os.Chtimes(oldTmp, base.Add(-time.Hour), base.Add(-time.Hour))
	d.Wait()
	d.maxBytes = 5000
	if err := d.Collect(); err != nil {
		t.Fatal(err)
	}
	var kept []int
	for i := range 8 {
		if _, err := os.Stat(b.Path([2]uint64{uint64(i), 0})); err == nil {
			kept = append(kept, i)
		}
	}
	if fmt.Sprint(kept) != "[0 5 6 7]" {
		t.Errorf("kept %v, want [0 5 6 7] (the four most recently read: 4000 bytes <= 90%% of 5000)", kept)
	}
	if d.Used() != 4000 {
		t.Errorf("Used() = %d, want 4000", d.Used())
	}
	if _, err := os.Stat(oldTmp); !os.IsNotExist(err) {
		t.Error("a crashed writer's hour-old temporary file survived")
	}
	if _, err := os.Stat(newTmp); err != nil {
		t.Error("a temporary file being written was removed")
	}
}

// Puts over the bound evict in the background.
func TestBoundEnforcedByPuts(t *testing.T) {
	d := Open(t.TempDir(), 20_000)
	b := bucket(t, d, 1)
	for i := range 100 {
		if err := b.Put([2]uint64{uint64(i), 0}, make([]byte, 936), time.Time{}); err != nil {
			t.Fatal(err)
		}
		d.Wait()
	}
	n, err := d.count()
	if err != nil || n > 20_000 {
		t.Fatalf("the directory holds %d bytes (%v), bound 20000", n, err)
	}
}

func TestList(t *testing.T) {
	root := t.TempDir()
	d := Open(root, 0)
	old, _ := d.Bucket(1, 1, Meta{Name: "main.load", Created: time.Now().Add(-time.Hour)})
	cur, _ := d.Bucket(1, 2, Meta{Name: "main.load", Created: time.Now()})
	other, _ := d.Bucket(2, 1, Meta{Name: "main.a", Created: time.Now()})
	old.Put([2]uint64{1, 1}, []byte("12345"), time.Time{})
	cur.Put([2]uint64{1, 1}, []byte("1"), time.Time{})
	cur.Put([2]uint64{1, 2}, []byte("1"), time.Time{})
	d.Wait()
	got, err := List(root)
	if err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, b := range got {
		s = append(s, fmt.Sprintf("%s %d %d %v", b.Meta.Name, b.Entries, b.Bytes, b.Current))
	}
	want := "[main.a 0 0 true main.load 2 130 true main.load 1 69 false]"
	if fmt.Sprint(s) != want {
		t.Errorf("List = %v\nwant %s", s, want)
	}
	if err := RemoveBucket(got[2]); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old.Dir()); !os.IsNotExist(err) {
		t.Error("the removed bucket is still there")
	}
	if got, _ := List(filepath.Join(root, "nothing")); got != nil {
		t.Errorf("a missing root lists %v", got)
	}
	_ = other
}

// Many processes writing and reading the same keys at once: every read
// is a miss or a whole payload, never a torn one.
func TestManyProcesses(t *testing.T) {
	if root := os.Getenv("DISKSTORE_CHILD"); root != "" {
		child(t, root)
		return
	}
	root := t.TempDir()
	var cmds []*exec.Cmd
	for i := range 4 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestManyProcesses$")
		cmd.Env = append(os.Environ(), "DISKSTORE_CHILD="+root, "DISKSTORE_SEED="+strconv.Itoa(i))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			out, _ := os.ReadFile(filepath.Join(root, "failure"))
			t.Fatalf("a process failed: %v\n%s", err, out)
		}
	}
}

func child(t *testing.T, root string) {
	seed, _ := strconv.Atoi(os.Getenv("DISKSTORE_SEED"))
	d := Open(root, 200_000)
	b, err := d.Bucket(1, 1, Meta{Name: "shared"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		key := [2]uint64{uint64(i % 16), 0}
		// Payload: the key's byte repeated, a length that varies by writer.
		payload := bytes.Repeat([]byte{byte(i % 16)}, 1000+seed*3000+i)
		if err := b.Put(key, payload, time.Time{}); err != nil {
			t.Fatal(err)
		}
		got, _, err := b.Get([2]uint64{uint64((i + 7) % 16), 0})
		if err != nil && !errors.Is(err, ErrNotFound) {
			os.WriteFile(filepath.Join(root, "failure"), []byte(err.Error()), 0o600)
			t.Fatal(err)
		}
		for _, c := range got {
			if c != byte((i+7)%16) {
				t.Fatalf("read another key's bytes")
			}
		}
	}
	d.Wait()
}
