package codeactions

import (
	"go/ast"
	"go/token"
	"os"

	"golang.org/x/tools/go/analysis"
)

// PassFile returns the File for one of the pass's syntax trees.
func PassFile(pass *analysis.Pass, af *ast.File) (*File, error) {
	name := pass.Fset.File(af.FileStart).Name()
	src, err := ReadFile(pass, name)
	if err != nil {
		return nil, err
	}
	return &File{Name: name, Fset: pass.Fset, AST: af, Src: src, Pkg: pass.Pkg}, nil
}

// ReadFile reads a file through the pass (which sees unsaved editor
// buffers in the language server) and, for files of other packages that
// the pass may not serve, from disk.
func ReadFile(pass *analysis.Pass, name string) ([]byte, error) {
	if pass.ReadFile != nil {
		if src, err := pass.ReadFile(name); err == nil {
			return src, nil
		}
	}
	return os.ReadFile(name)
}

// tokenFile returns the file named name in fset, or nil.
func tokenFile(fset *token.FileSet, name string) *token.File {
	var found *token.File
	fset.Iterate(func(f *token.File) bool {
		if f.Name() == name {
			found = f
			return false
		}
		return true
	})
	return found
}

// SuggestedFix converts edits (possibly in several files) into a
// suggested fix. ok is false if an edited file is not in the FileSet (the
// analysis driver has no syntax for it), in which case the fix cannot be
// offered.
func SuggestedFix(fset *token.FileSet, message string, edits []Edit) (analysis.SuggestedFix, bool) {
	fix := analysis.SuggestedFix{Message: message}
	files := map[string]*token.File{}
	for _, e := range edits {
		tf, ok := files[e.File]
		if !ok {
			tf = tokenFile(fset, e.File)
			files[e.File] = tf
		}
		if tf == nil || e.End > tf.Size() {
			return fix, false
		}
		fix.TextEdits = append(fix.TextEdits, analysis.TextEdit{Pos: tf.Pos(e.Start), End: tf.Pos(e.End), NewText: []byte(e.New)})
	}
	return fix, len(fix.TextEdits) > 0
}
