package runfile

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/cachelens/cachelens/wire"
)

// TestRecords: records are published with their kind and size, aligned as
// asked (a gap record fills the padding), chunks are added as the file
// fills, and a full file returns nil, is marked full and counts what it
// drops.
func TestRecords(t *testing.T) {
	f := InHeap("test")
	if f.Shared() || f.Path() != "" || f.Note() != "test" {
		t.Fatalf("heap file: shared %v path %q note %q", f.Shared(), f.Path(), f.Note())
	}
	b := NewBody(wire.RecHeader + 8).Str("hello")
	rec := f.Record(wire.RecSource, 7, b, 8)
	word := binary.LittleEndian.Uint32(rec)
	if kind, size := wire.RecordKind(word&0xff), int(word>>8); kind != wire.RecSource || size != len(rec) || size%8 != 0 {
		t.Errorf("record word %#x: kind %v size %d (len %d)", word, kind, size, len(rec))
	}
	if id := binary.LittleEndian.Uint32(rec[4:]); id != 7 {
		t.Errorf("id %d", id)
	}
	aligned := f.Record(wire.RecSite, 1, NewBody(wire.RecHeader+8), 64)
	if off := f.off - len(aligned); off%64 != 0 {
		t.Errorf("a 64-byte aligned record at offset %d", off)
	}
	c := Counters64(aligned, wire.RecHeader, 1)
	c[0].Add(3)
	if v := binary.LittleEndian.Uint64(aligned[wire.RecHeader:]); v != 3 {
		t.Errorf("counter in the record reads %d", v)
	}
	big := NewBody(wire.RunChunkSize / 2).Str(strings.Repeat("x", 10))
	n := 0
	for f.Record(wire.RecSource, 0, big, 8) != nil {
		n++
	}
	if len(f.chunks) != wire.RunMaxChunks || n < wire.RunMaxChunks || n > 2*wire.RunMaxChunks {
		t.Errorf("%d records of half a chunk in %d chunks", n, len(f.chunks))
	}
	if flags := *f.u32(56); flags&wire.RunFull == 0 {
		t.Error("a full file is not marked full")
	}
	f.Dropped()
	f.Dropped()
	if f.DroppedCount() != 2 {
		t.Errorf("dropped %d", f.DroppedCount())
	}
	if Counters64(nil, 0, 2)[1].Add(1) != 1 {
		t.Error("heap counters without a record")
	}
}
