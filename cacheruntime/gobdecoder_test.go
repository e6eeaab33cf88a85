package cacheruntime

import (
	"bytes"
	"encoding/gob"
	"reflect"
	"testing"
)

type gobShape struct {
	Name string
	Any  any
	N    []int
}

type gobA struct{ X int }
type gobB struct{ S string }

func init() {
	gob.Register(gobA{})
	gob.Register(gobB{})
}

func gobStream(t *testing.T, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// The reused decoder reads streams whose type descriptions match the one
// it read, and decodes afresh the ones that differ (another concrete type
// behind an interface), each value exactly.
func TestGobDecoderReuse(t *testing.T) {
	values := []gobShape{
		{"a", gobA{1}, []int{1}},
		{"b", gobA{2}, nil},
		{"c", gobB{"x"}, []int{3, 4}},
		{"d", gobA{5}, []int{5}},
		{"e", nil, nil},
		{"f", gobB{"y"}, nil},
	}
	var g gobDecoder
	for round := range 2 {
		for _, want := range values {
			data := gobStream(t, &want)
			// A value without interfaces is descriptions, then one value
			// message: reusable. (Interface values carry more messages
			// and are decoded afresh.)
			if s := gobValueStart(data); want.Any == nil && (s <= 0 || s >= len(data)) {
				t.Fatalf("%s: value starts at %d of %d", want.Name, s, len(data))
			}
			var got gobShape
			if err := g.decode(data, &got); err != nil {
				t.Fatalf("round %d %s: %v", round, want.Name, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("round %d: got %+v, want %+v", round, got, want)
			}
		}
	}
}

func TestGobValueStartMalformed(t *testing.T) {
	data := gobStream(t, &gobShape{Name: "a", N: []int{1}})
	if s := gobValueStart(data); s <= 0 {
		t.Fatalf("a plain value: %d", s)
	}
	for _, b := range [][]byte{nil, {0x00}, {0x05, 0x01}, data[:len(data)-1], append(bytes.Clone(data), data...), {0xf0, 1, 2}} {
		if s := gobValueStart(b); s != -1 {
			t.Errorf("gobValueStart(%x) = %d, want -1", b, s)
		}
	}
	// A damaged stream is an error, never a panic, and the decoder
	// recovers for the next one.
	var g gobDecoder
	var v gobShape
	g.decode(data, &v)
	bad := bytes.Clone(data)
	bad[len(bad)-3] ^= 0xff
	var w gobShape
	g.decode(bad, &w)
	var x gobShape
	if err := g.decode(data, &x); err != nil || x.Name != "a" {
		t.Errorf("after a damaged stream: %+v %v", x, err)
	}
}

// Streams of a type without interfaces share their descriptions: after
// the first, only values are decoded, by the same decoder.
func TestGobDecoderKeepsDecoder(t *testing.T) {
	var g gobDecoder
	var first *gob.Decoder
	for i := range 5 {
		want := gobShape{Name: string(rune('a' + i)), N: []int{i, i * 2}}
		var got gobShape
		if err := g.decode(gobStream(t, &want), &got); err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("%d: %+v %v", i, got, err)
		}
		if i == 0 {
			first = g.dec
		}
		if g.dec == nil || g.dec != first {
			t.Fatalf("%d: the decoder was not kept", i)
		}
	}
}
