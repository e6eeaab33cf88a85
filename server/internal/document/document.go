// Package document holds the text of open editor buffers and converts
// between LSP positions (lines and UTF-16 or UTF-8 units) and byte
// offsets, the unit of go/token.
//
// It serves the language server only and is not a stable API.
package document

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"unicode/utf16"
	"unicode/utf8"
)

// Encoding is how LSP positions count characters within a line.
type Encoding int

// The position encodings LSP 3.17 defines (UTF-32 is not offered).
const (
	UTF16 Encoding = iota // the default
	UTF8
)

func (e Encoding) String() string {
	if e == UTF8 {
		return "utf-8"
	}
	return "utf-16"
}

// Position is an LSP position.
type Position struct {
	Line      int
	Character int
}

// Range is an LSP range.
type Range struct {
	Start, End Position
}

// Document is one version of a text.
type Document struct {
	URI     string
	Path    string
	Version int32
	Text    []byte
	lines   []int // byte offset of the start of each line
}

// New returns a document.
func New(uri, path string, version int32, text []byte) *Document {
	d := &Document{URI: uri, Path: path, Version: version, Text: text}
	d.index()
	return d
}

func (d *Document) index() {
	d.lines = make([]int, 1, bytes.Count(d.Text, newline)+1)
	for i := 0; ; {
		j := bytes.IndexByte(d.Text[i:], '\n')
		if j < 0 {
			return
		}
		i += j + 1
		d.lines = append(d.lines, i)
	}
}

var newline = []byte{'\n'}

// Lines returns the number of lines.
func (d *Document) Lines() int { return len(d.lines) }

// LineStart returns the byte offset where 0-based line begins.
func (d *Document) LineStart(line int) int {
	if line < 0 {
		return 0
	}
	if line >= len(d.lines) {
		return len(d.Text)
	}
	return d.lines[line]
}

// lineEnd returns the offset of the end of line (before its newline).
func (d *Document) lineEnd(line int) int {
	if line+1 < len(d.lines) {
		return d.lines[line+1] - 1
	}
	return len(d.Text)
}

// ErrPosition is wrapped by errors for positions outside the document.
var ErrPosition = errors.New("position outside the document")

// Offset converts an LSP position to a byte offset. Positions past the
// end of a line clamp to its end (the protocol allows that); lines past
// the end of the document are an error.
func (d *Document) Offset(p Position, enc Encoding) (int, error) {
	if p.Line < 0 || p.Character < 0 {
		return 0, fmt.Errorf("%w: line %d, character %d", ErrPosition, p.Line, p.Character)
	}
	if p.Line >= len(d.lines) {
		if p.Line == len(d.lines) && p.Character == 0 {
			return len(d.Text), nil
		}
		return 0, fmt.Errorf("%w: line %d of %d", ErrPosition, p.Line, len(d.lines))
	}
	start, end := d.lines[p.Line], d.lineEnd(p.Line)
	line := d.Text[start:end]
	if enc == UTF8 {
		return start + min(p.Character, len(line)), nil
	}
	units := 0
	for i := 0; i < len(line); {
		if units >= p.Character {
			return start + i, nil
		}
		r, size := utf8.DecodeRune(line[i:])
		units += utf16.RuneLen(r)
		if r == utf8.RuneError && size == 1 {
			units = units - utf16.RuneLen(r) + 1
		}
		i += size
	}
	return end, nil
}

// Position converts a byte offset to an LSP position.
func (d *Document) Position(offset int, enc Encoding) Position {
	offset = max(0, min(offset, len(d.Text)))
	line := sort.Search(len(d.lines), func(i int) bool { return d.lines[i] > offset }) - 1
	start := d.lines[line]
	if enc == UTF8 {
		return Position{Line: line, Character: offset - start}
	}
	units := 0
	for i := start; i < offset; {
		r, size := utf8.DecodeRune(d.Text[i:])
		if r == utf8.RuneError && size == 1 {
			units++
		} else {
			units += utf16.RuneLen(r)
		}
		i += size
	}
	return Position{Line: line, Character: units}
}

// Change is one content change of a didChange notification: a range edit,
// or the whole text when Range is nil.
type Change struct {
	Range *Range
	Text  string
}

// Apply returns the document after the changes, at version.
func (d *Document) Apply(version int32, changes []Change, enc Encoding) (*Document, error) {
	text := d.Text
	cur := d
	for i, c := range changes {
		if c.Range == nil {
			text = []byte(c.Text)
		} else {
			s, err := cur.Offset(c.Range.Start, enc)
			if err != nil {
				return nil, fmt.Errorf("change %d: start: %w", i, err)
			}
			e, err := cur.Offset(c.Range.End, enc)
			if err != nil {
				return nil, fmt.Errorf("change %d: end: %w", i, err)
			}
			if e < s {
				return nil, fmt.Errorf("change %d: range ends before it starts", i)
			}
			out := make([]byte, 0, len(text)-(e-s)+len(c.Text))
			out = append(out, text[:s]...)
			out = append(out, c.Text...)
			out = append(out, text[e:]...)
			text = out
		}
		cur = New(d.URI, d.Path, version, text)
	}
	if cur == d {
		cur = New(d.URI, d.Path, version, text)
	}
	return cur, nil
}
