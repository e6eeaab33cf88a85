package wire_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cachelens/cachelens/wire"
)

func examples() []any {
	return []any{
		&wire.Hello{Proto: wire.Version, PID: 4242, Program: "/tmp/go-build/catalog", Module: "example.com/shop",
			GoVersion: "go1.26.8", Start: time.Date(2026, 11, 24, 18, 0, 0, 0, time.UTC), Dir: "/home/ann/shop",
			Run: "/dev/shm/cachelens-1000/run-4242-1795707475705711152.clrun", RunID: "0123456789abcdef0123456789abcdef", FD: true},
		&wire.Hello{Proto: wire.Version, PID: 4243, Start: time.Date(2026, 11, 24, 18, 0, 1, 0, time.UTC), RunID: "ffffffffffffffffffffffffffffffff"},
	}
}

func TestRoundTrip(t *testing.T) {
	var stream []byte
	for _, m := range examples() {
		var err error
		stream, err = wire.AppendFrame(stream, m)
		if err != nil {
			t.Fatal(err)
		}
	}
	r := wire.NewReader(bytes.NewReader(stream), 0)
	for _, want := range examples() {
		f, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		got, err := wire.Decode(f)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %+v, want %+v", f.Type, got, want)
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("end of stream: %v", err)
	}
}

func frame(n uint32, version, typ byte, payload string) []byte {
	b := binary.BigEndian.AppendUint32(nil, n)
	b = append(b, version, typ)
	return append(b, payload...)
}

func TestReaderErrors(t *testing.T) {
	cases := []struct {
		name   string
		stream []byte
		max    int
		want   error
		text   string
	}{
		{"oversized", frame(1<<30, wire.Version, 1, ""), 0, wire.ErrTooLarge, "1073741824 bytes, limit 1048576"},
		{"over a custom limit", frame(100, wire.Version, 1, strings.Repeat("x", 98)), 64, wire.ErrTooLarge, "limit 64"},
		{"unknown version", frame(4, 9, 1, "{}"), 0, wire.ErrVersion, "unsupported protocol version: 9"},
		{"the old version", frame(4, 1, 1, "{}"), 0, wire.ErrVersion, "unsupported protocol version: 1"},
		{"no header", frame(1, wire.Version, 0, "")[:5], 0, wire.ErrMalformed, "has no header"},
		{"truncated payload", frame(40, wire.Version, 1, `{"pid":`), 0, nil, "truncated hello frame"},
		{"truncated length", []byte{0, 0}, 0, nil, "truncated frame header"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := wire.NewReader(bytes.NewReader(c.stream), c.max).Next()
			if err == nil || (c.want != nil && !errors.Is(err, c.want)) || !strings.Contains(err.Error(), c.text) {
				t.Fatalf("err = %v, want %v containing %q", err, c.want, c.text)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, f := range []wire.Frame{
		{Type: 99, Payload: []byte(`{}`)},
		{Type: wire.TypeHello, Payload: []byte(`{"pid": "x"}`)},
		{Type: wire.TypeHello, Payload: []byte(`not json`)},
	} {
		if _, err := wire.Decode(f); !errors.Is(err, wire.ErrMalformed) {
			t.Errorf("Decode(%s %q) = %v, want ErrMalformed", f.Type, f.Payload, err)
		}
	}
	if _, err := wire.AppendFrame(nil, struct{}{}); err == nil {
		t.Error("encoded an unknown message")
	}
	big := &wire.Hello{Program: strings.Repeat("x", wire.MaxFrame)}
	if _, err := wire.AppendFrame(nil, big); err == nil {
		t.Error("encoded an oversized frame")
	}
}

// FuzzReader: arbitrary bytes never panic the reader or decoder, and every
// frame it accepts re-encodes to a frame that decodes equal.
func FuzzReader(f *testing.F) {
	var stream []byte
	for _, m := range examples() {
		stream, _ = wire.AppendFrame(stream, m)
	}
	f.Add(stream)
	f.Add(frame(4, wire.Version, 1, "{}"))
	f.Add(frame(1<<31, wire.Version, 1, ""))
	f.Add([]byte{0, 0, 0, 2, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := wire.NewReader(bytes.NewReader(data), 4096)
		for range 64 {
			fr, err := r.Next()
			if err != nil {
				return
			}
			if len(fr.Payload) > 4096 {
				t.Fatalf("frame of %d bytes passed a 4096 limit", len(fr.Payload))
			}
			msg, err := wire.Decode(fr)
			if err != nil {
				if !errors.Is(err, wire.ErrMalformed) {
					t.Fatalf("decode error not marked malformed: %v", err)
				}
				continue
			}
			again, err := wire.AppendFrame(nil, msg)
			if err != nil {
				t.Fatalf("re-encode: %v", err)
			}
			fr2, err := wire.NewReader(bytes.NewReader(again), 0).Next()
			if err != nil {
				t.Fatal(err)
			}
			msg2, err := wire.Decode(fr2)
			if err != nil || !reflect.DeepEqual(msg, msg2) {
				t.Fatalf("round trip changed %+v into %+v (%v)", msg, msg2, err)
			}
		}
	})
}

func TestDiscovery(t *testing.T) {
	dir := t.TempDir() + "/rt"
	d, err := wire.OpenDir(dir, true, false)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	reg := wire.Registration{Root: "/home/ann/shop", Socket: dir + "/s.sock", PID: 10, Started: time.Unix(5, 0).UTC()}
	name, err := d.Register(reg)
	if err != nil {
		t.Fatal(err)
	}
	regs, names, err := d.Registrations()
	if err != nil || len(regs) != 1 || names[0] != name || regs[0].Root != reg.Root || regs[0].Version != wire.Version {
		t.Fatalf("%+v %v %v", regs, names, err)
	}
	for _, c := range []struct {
		root, file string
		in         bool
	}{
		{"/a/b", "/a/b/c.go", true},
		{"/a/b", "/a/bc/d.go", false},
		{"/a/b", "/a/b", true},
		{"/a/b", "/a/x/../b/y.go", true},
		{"/a/b", "b/y.go", false},
		{"", "/a", false},
	} {
		if got := wire.Contains(c.root, c.file); got != c.in {
			t.Errorf("Contains(%q, %q) = %v", c.root, c.file, got)
		}
	}
}

// TestSquattedDir: a directory others may enter, or a symlink to one, is
// refused; with fallback set, a fresh private directory beside it is used
// (and found again by the next OpenDir and by Dirs), and Note says why.
func TestSquattedDir(t *testing.T) {
	parent := t.TempDir()
	dir := parent + "/cachelens-1000"
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := wire.OpenDir(dir, true, false); err == nil || !strings.Contains(err.Error(), "want 0700") {
		t.Fatalf("OpenDir(0755) = %v", err)
	}
	d, err := wire.OpenDir(dir, true, true)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if !d.Fallback || d.Path == dir || !strings.HasPrefix(d.Path, dir+"-") || !strings.Contains(d.Note, "want 0700") {
		t.Fatalf("fallback %+v", d)
	}
	again, err := wire.OpenDir(dir, true, true)
	if err != nil || again.Path != d.Path {
		t.Fatalf("second OpenDir: %+v %v (want %s)", again, err, d.Path)
	}
	again.Close()
	dirs := wire.Dirs(dir)
	if len(dirs) != 1 || dirs[0].Path != d.Path {
		t.Fatalf("Dirs: %d", len(dirs))
	}
	dirs[0].Close()
	// A symlink swapped in for the directory is refused when the target is
	// not private.
	os.Chmod(d.Path, 0o777)
	if _, err := wire.OpenDir(d.Path, false, false); err == nil {
		t.Fatal("opened a 0777 directory")
	}
}
