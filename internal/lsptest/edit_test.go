package lsptest

import (
	"strings"
	"testing"
)

func TestApplyEdits(t *testing.T) {
	at := func(l1, c1, l2, c2 int, text string) TextEdit {
		return TextEdit{Range: Range{Start: Position{Line: l1, Character: c1}, End: Position{Line: l2, Character: c2}}, NewText: text}
	}
	for _, tc := range []struct {
		name, text string
		edits      []TextEdit
		want, err  string
	}{
		{"insert", "ab\ncd\n", []TextEdit{at(1, 1, 1, 1, "X")}, "ab\ncXd\n", ""},
		{"both refer to the original", "ab\ncd\n", []TextEdit{at(1, 0, 1, 2, "Z"), at(0, 0, 0, 1, "YY")}, "YYb\nZ\n", ""},
		{"across lines", "ab\ncd\n", []TextEdit{at(0, 1, 1, 1, "-")}, "a-d\n", ""},
		{"utf-16 columns", "é😀x\n", []TextEdit{at(0, 3, 0, 4, "y")}, "é😀y\n", ""},
		{"end of a line", "ab\n", []TextEdit{at(0, 2, 0, 2, "!")}, "ab!\n", ""},
		{"overlap", "abcd", []TextEdit{at(0, 0, 0, 2, ""), at(0, 1, 0, 3, "")}, "", "overlap"},
		{"past a line", "ab\ncd", []TextEdit{at(0, 3, 0, 3, "")}, "", "past the end of line 0"},
		{"past the text", "ab", []TextEdit{at(2, 0, 2, 0, "")}, "", "line 2 is past"},
		{"backwards", "abc", []TextEdit{at(0, 2, 0, 1, "")}, "", "ends before it starts"},
	} {
		got, err := ApplyEdits(tc.text, tc.edits)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: err %v, want %q", tc.name, err, tc.err)
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("%s: got %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
}
