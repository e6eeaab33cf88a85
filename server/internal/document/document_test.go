package document

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf16"
)

func TestPositions(t *testing.T) {
	text := "package main\n\n// héllo 😀 wörld\nfunc f() {}\n"
	d := New("file:///a.go", "/a.go", 1, []byte(text))
	// "😀" is 4 bytes in UTF-8 and 2 units in UTF-16.
	line := 2
	lineText := "// héllo 😀 wörld"
	for i, r := range lineText {
		off := d.LineStart(line) + i
		u16 := len(utf16.Encode([]rune(lineText[:i])))
		for _, c := range []struct {
			enc  Encoding
			char int
		}{{UTF16, u16}, {UTF8, i}} {
			p := d.Position(off, c.enc)
			if p.Line != line || p.Character != c.char {
				t.Fatalf("Position(%d, %s) = %+v, want %d:%d (rune %q)", off, c.enc, p, line, c.char, r)
			}
			back, err := d.Offset(p, c.enc)
			if err != nil || back != off {
				t.Fatalf("Offset(%+v, %s) = %d, %v; want %d", p, c.enc, back, err, off)
			}
		}
	}
	// Past the end of a line clamps; past the end of the document fails.
	if off, err := d.Offset(Position{Line: 0, Character: 99}, UTF16); err != nil || off != len("package main") {
		t.Errorf("clamp: %d %v", off, err)
	}
	if _, err := d.Offset(Position{Line: 40, Character: 0}, UTF16); !errors.Is(err, ErrPosition) {
		t.Errorf("past end: %v", err)
	}
	if off, err := d.Offset(Position{Line: d.Lines(), Character: 0}, UTF16); err != nil || off != len(text) {
		t.Errorf("end of document: %d %v", off, err)
	}
}

// TestApply compares incremental edits with a reference on random edits.
func TestApply(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	alphabet := []string{"a", "b", "\n", "é", "😀", "x := 1\n", "\t"}
	text := "package p\n\nfunc f() {}\n"
	d := New("u", "/p.go", 1, []byte(text))
	for i := range 2000 {
		runes := []rune(text)
		a, b := rng.IntN(len(runes)+1), rng.IntN(len(runes)+1)
		if a > b {
			a, b = b, a
		}
		insert := ""
		for range rng.IntN(4) {
			insert += alphabet[rng.IntN(len(alphabet))]
		}
		enc := Encoding(rng.IntN(2))
		start := d.Position(len(string(runes[:a])), enc)
		end := d.Position(len(string(runes[:b])), enc)
		nd, err := d.Apply(int32(i+2), []Change{{Range: &Range{start, end}, Text: insert}}, enc)
		if err != nil {
			t.Fatal(err)
		}
		text = string(runes[:a]) + insert + string(runes[b:])
		if string(nd.Text) != text {
			t.Fatalf("step %d: got %q want %q", i, nd.Text, text)
		}
		d = nd
	}
	full, _ := d.Apply(9999, []Change{{Text: "new"}}, UTF16)
	if string(full.Text) != "new" || full.Version != 9999 {
		t.Fatal("full replacement")
	}
	if _, err := d.Apply(1, []Change{{Range: &Range{Position{Line: 500}, Position{Line: 501}}, Text: "x"}}, UTF16); err == nil {
		t.Fatal("bad range accepted")
	}
	_ = strings.Repeat
}
