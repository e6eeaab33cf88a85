package lsptest

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// TextEdit is an LSP text edit.
type TextEdit struct {
	Range   Range  `json:"range"`
	NewText string `json:"newText"`
}

// ApplyEdits applies text edits to text the way an editor does: all
// ranges refer to the text before any edit, positions count UTF-16 code
// units, and edits must not overlap. It is the client's own implementation,
// written apart from the server's, so that tests check the server's edits
// against an independent reading of the protocol.
func ApplyEdits(text string, edits []TextEdit) (string, error) {
	type span struct {
		start, end int
		text       string
	}
	spans := make([]span, 0, len(edits))
	for _, e := range edits {
		start, err := offset(text, e.Range.Start)
		if err != nil {
			return "", err
		}
		end, err := offset(text, e.Range.End)
		if err != nil {
			return "", err
		}
		if end < start {
			return "", fmt.Errorf("edit range %+v ends before it starts", e.Range)
		}
		spans = append(spans, span{start, end, e.NewText})
	}
	slices.SortStableFunc(spans, func(a, b span) int { return a.start - b.start })
	var b strings.Builder
	at := 0
	for _, s := range spans {
		if s.start < at {
			return "", fmt.Errorf("edits overlap at byte %d", s.start)
		}
		b.WriteString(text[at:s.start])
		b.WriteString(s.text)
		at = s.end
	}
	b.WriteString(text[at:])
	return b.String(), nil
}

// offset returns the byte offset of an LSP position (UTF-16 columns) in
// text. A column past the end of its line is an error.
func offset(text string, p Position) (int, error) {
	off := 0
	for range p.Line {
		i := strings.IndexByte(text[off:], '\n')
		if i < 0 {
			return 0, fmt.Errorf("line %d is past the end of the text", p.Line)
		}
		off += i + 1
	}
	for col := 0; col < p.Character; {
		if off >= len(text) || text[off] == '\n' {
			return 0, fmt.Errorf("column %d is past the end of line %d", p.Character, p.Line)
		}
		r, n := utf8.DecodeRuneInString(text[off:])
		col += utf16.RuneLen(r)
		off += n
	}
	return off, nil
}
