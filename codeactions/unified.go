package codeactions

import (
	"fmt"
	"strings"
)

// Unified renders the difference between old and new as a unified diff
// with ctx lines of context, for people to read (cachelens demo -fix).
func Unified(name string, old, new []byte, ctx int) string {
	edits := diffEdits(name, old, new)
	if len(edits) == 0 {
		return ""
	}
	a := splitLines(old)
	starts := make([]int, len(a)+1)
	for i, l := range a {
		starts[i+1] = starts[i] + len(l)
	}
	lineOf := func(off int) int {
		for i := range a {
			if starts[i+1] > off {
				return i
			}
		}
		return len(a)
	}
	// Old line ranges replaced by each edit, grouped into hunks whose
	// context would overlap.
	type change struct {
		from, to int
		added    []string
	}
	var changes []change
	for _, e := range edits {
		from, to := lineOf(e.Start), lineOf(e.End)
		if e.End == len(old) {
			to = len(a)
		}
		changes = append(changes, change{from, to, splitLines([]byte(e.New))})
	}
	type hunk struct {
		aStart, aEnd, bStart, bLen int
		body                       []string
	}
	var hunks []hunk
	shift := 0 // new line numbers minus old
	for i := 0; i < len(changes); {
		j := i
		for j+1 < len(changes) && changes[j+1].from-ctx <= changes[j].to+ctx {
			j++
		}
		lo, hi := max(0, changes[i].from-ctx), min(len(a), changes[j].to+ctx)
		h := hunk{aStart: lo, aEnd: hi, bStart: lo + shift}
		at := lo
		for _, c := range changes[i : j+1] {
			for ; at < c.from; at++ {
				h.body = append(h.body, " "+a[at])
			}
			for ; at < c.to; at++ {
				h.body = append(h.body, "-"+a[at])
			}
			for _, l := range c.added {
				h.body = append(h.body, "+"+l)
			}
			shift += len(c.added) - (c.to - c.from)
		}
		for ; at < hi; at++ {
			h.body = append(h.body, " "+a[at])
		}
		h.bLen = (hi - lo) + shift - (h.bStart - lo)
		hunks = append(hunks, h)
		i = j + 1
	}
	var b strings.Builder
	fmt.Fprintf(&b, "--- %s\n+++ %s (fixed)\n", name, name)
	for _, h := range hunks {
		fmt.Fprintf(&b, "@@ -%d,%d +%d,%d @@\n", h.aStart+1, h.aEnd-h.aStart, h.bStart+1, h.bLen)
		for _, l := range h.body {
			b.WriteString(l)
			if !strings.HasSuffix(l, "\n") {
				b.WriteString("\n\\ No newline at end of file\n")
			}
		}
	}
	return b.String()
}
