// Package codeactions builds the quick fixes cachelens offers: insert a
// hash function, deep-copy a cached result, allow output mutation, move a
// cache to package level. Each fix is computed as exact text edits that
// leave the file gofmt-formatted (when it was) and compiling; the
// analyzers attach them as suggested fixes and the language server turns
// them into workspace edits.
//
// It serves the analyzers and the language server; it is not a stable API.
package codeactions

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/tools/go/ast/astutil"
)

// Edit replaces the bytes [Start, End) of File with New.
type Edit struct {
	File       string
	Start, End int
	New        string
}

// Apply applies edits to src. Edits must not overlap.
func Apply(src []byte, edits []Edit) ([]byte, error) {
	sorted := slices.Clone(edits)
	slices.SortStableFunc(sorted, func(a, b Edit) int { return a.Start - b.Start })
	var out bytes.Buffer
	last := 0
	for _, e := range sorted {
		if e.Start < last || e.End < e.Start || e.End > len(src) {
			return nil, fmt.Errorf("codeactions: edit [%d,%d) overlaps or lies outside a %d-byte file", e.Start, e.End, len(src))
		}
		out.Write(src[last:e.Start])
		out.WriteString(e.New)
		last = e.End
	}
	out.Write(src[last:])
	return out.Bytes(), nil
}

// Import is a package a fix needs imported, under Name (empty: the
// package's own name).
type Import struct {
	Name, Path string
}

// rewrite applies raw edits to a file, adds the imports it needs, and
// returns the line-based edits from src to the result, which is gofmt
// formatted if src was. The result must parse.
func rewrite(file string, src []byte, raw []Edit, imports []Import) ([]Edit, error) {
	out, err := Apply(src, raw)
	if err != nil {
		return nil, err
	}
	wasFormatted := false
	if f, err := format.Source(src); err == nil && bytes.Equal(f, src) {
		wasFormatted = true
	}
	if len(imports) > 0 {
		out, err = addImports(file, out, imports)
		if err != nil {
			return nil, err
		}
	}
	if wasFormatted {
		f, err := format.Source(out)
		if err != nil {
			return nil, fmt.Errorf("codeactions: the fixed %s does not parse: %v", file, err)
		}
		out = f
	} else if _, err := parser.ParseFile(token.NewFileSet(), file, out, parser.SkipObjectResolution); err != nil {
		return nil, fmt.Errorf("codeactions: the fixed %s does not parse: %v", file, err)
	}
	return diffEdits(file, src, out), nil
}

func addImports(file string, src []byte, imports []Import) ([]byte, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, src, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		return nil, fmt.Errorf("codeactions: %s does not parse: %v", file, err)
	}
	changed := false
	for _, imp := range imports {
		if astutil.AddNamedImport(fset, f, imp.Name, imp.Path) {
			changed = true
		}
	}
	if !changed {
		return src, nil
	}
	var buf bytes.Buffer
	if err := format.Node(&buf, fset, f); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// diffEdits returns edits that turn old into new, one per changed run of lines.
func diffEdits(file string, old, new []byte) []Edit {
	a, b := splitLines(old), splitLines(new)
	// Trim the common prefix and suffix, then align the middle with a
	// longest-common-subsequence table (fixes change a few lines).
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	am, bm := a[pre:len(a)-suf], b[pre:len(b)-suf]
	offsets := make([]int, len(a)+1)
	for i, l := range a {
		offsets[i+1] = offsets[i] + len(l)
	}
	if len(am)*len(bm) > 4_000_000 {
		return []Edit{{File: file, Start: offsets[pre], End: offsets[len(a)-suf], New: strings.Join(bm, "")}}
	}
	// lcs[i][j] = LCS length of am[i:] and bm[j:]
	lcs := make([][]int, len(am)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(bm)+1)
	}
	for i := len(am) - 1; i >= 0; i-- {
		for j := len(bm) - 1; j >= 0; j-- {
			if am[i] == bm[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var edits []Edit
	i, j := 0, 0
	for i < len(am) || j < len(bm) {
		if i < len(am) && j < len(bm) && am[i] == bm[j] {
			i++
			j++
			continue
		}
		// a run of changes
		si, sj := i, j
		for (i < len(am) || j < len(bm)) && !(i < len(am) && j < len(bm) && am[i] == bm[j]) {
			if j < len(bm) && (i == len(am) || lcs[i][j+1] >= lcs[i+1][j]) {
				j++
			} else {
				i++
			}
		}
		edits = append(edits, Edit{File: file, Start: offsets[pre+si], End: offsets[pre+i], New: strings.Join(bm[sj:j], "")})
	}
	return edits
}

func splitLines(b []byte) []string {
	var out []string
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			out = append(out, string(b))
			break
		}
		out = append(out, string(b[:i+1]))
		b = b[i+1:]
	}
	return out
}

// localName returns the name under which file imports path, and whether
// it does. A dot or blank import counts as not imported.
func localName(file *ast.File, path string, pkgName string) (string, bool) {
	for _, imp := range file.Imports {
		p, err := strconv.Unquote(imp.Path.Value)
		if err != nil || p != path {
			continue
		}
		if imp.Name != nil {
			if imp.Name.Name == "_" || imp.Name.Name == "." {
				continue
			}
			return imp.Name.Name, true
		}
		return pkgName, true
	}
	return "", false
}

// Choose picks, in order, the fixes (each a list of edits) that can be
// applied together: a fix is left out when one of its edits overlaps an
// edit of a fix picked before it, or inserts at the same offset (the two
// insertions' order would be arbitrary). It returns the indexes of the
// picked fixes and their edits by file. `cachelens check -fix` and the
// demo choose with it.
func Choose(fixes [][]Edit) (picked []int, byFile map[string][]Edit) {
	byFile = map[string][]Edit{}
	for i, edits := range fixes {
		ok := true
		for _, e := range edits {
			for _, o := range byFile[e.File] {
				if e.Start < o.End && o.Start < e.End || e.Start == o.Start {
					ok = false
				}
			}
		}
		if !ok {
			continue
		}
		for _, e := range edits {
			byFile[e.File] = append(byFile[e.File], e)
		}
		picked = append(picked, i)
	}
	return picked, byFile
}
