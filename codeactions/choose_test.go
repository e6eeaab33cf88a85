package codeactions

import (
	"slices"
	"testing"
)

// TestChoose: fixes are picked in order; one that overlaps, or inserts
// where a picked one inserts, is left out; edits of other files never
// conflict.
func TestChoose(t *testing.T) {
	fixes := [][]Edit{
		{{File: "a.go", Start: 10, End: 20, New: "x"}},
		{{File: "a.go", Start: 15, End: 25, New: "y"}},                         // overlaps 0
		{{File: "a.go", Start: 20, End: 20, New: "z"}},                         // touches 0's end: fine
		{{File: "a.go", Start: 20, End: 20, New: "w"}},                         // inserts where 2 does
		{{File: "b.go", Start: 10, End: 20, New: "v"}},                         // another file
		{{File: "a.go", Start: 0, End: 1}, {File: "b.go", Start: 19, End: 21}}, // its b.go edit overlaps 4
	}
	picked, byFile := Choose(fixes)
	if want := []int{0, 2, 4}; !slices.Equal(picked, want) {
		t.Errorf("picked %v, want %v", picked, want)
	}
	if len(byFile["a.go"]) != 2 || len(byFile["b.go"]) != 1 {
		t.Errorf("edits by file: %v", byFile)
	}
}
