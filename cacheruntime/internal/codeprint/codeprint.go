// Package codeprint fingerprints the code of a cached function, so that
// results persisted by one build are never read by a build whose function
// computes something else: edit the function and its entries become
// misses, as joblib's Memory does and Streamlit's persisted caches do.
//
// What the fingerprint covers, from the source the program was built
// from (found through the function's file in the binary's line table):
//
//   - the function's own declaration and body (a function literal's own
//     text for a closure), as tokens: comments and layout do not count;
//   - every declaration of its package that it names, transitively:
//     functions and methods it calls (a method by name: all of the
//     package's methods of that name), variables and their initial values,
//     constants (their whole const block, for iota), types;
//   - the same for the packages of its own module that it names (pkg.F
//     and what F names in turn);
//   - for every other package it names, that package's module version
//     (its go.sum hash when there is one; the Go version for the standard
//     library).
//
// Not covered: values that change while the program runs (a package
// variable assigned elsewhere), files read at run time, and code reached
// only through interfaces or function values. Where the source cannot be
// read or trusted — a binary run away from its source tree, built with
// -trimpath, or older than a source file it would be fingerprinted by (an
// edit not rebuilt yet) — the fingerprint is of the executable itself:
// any rebuild that changes the binary invalidates.
//
// Computing a fingerprint parses the function's package; Of keeps what it
// computed (in the persist directory's "prints"), so that a later process
// only checks that the files it read are unchanged.
package codeprint

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cachelens/cachelens/internal/diskstore"
	"github.com/cachelens/cachelens/internal/modroot"
)

// A Print is a function's code fingerprint.
type Print struct {
	Sum   uint64
	Basis string // what Sum covers, for listings and messages
}

// Of fingerprints the function whose entry is pc. built reports whether
// a source file with the given modification time is what the executable
// was built from (go run and go test rebuild for each run; otherwise the
// file must not be newer than the executable). cacheDir, if not empty,
// keeps fingerprints across runs: one is computed again only when a file
// it was computed from changed (parsing a large package takes tens of
// milliseconds; checking its files' sizes and times, a fraction of one).
func Of(pc uintptr, built func(mtime time.Time) bool, cacheDir string) Print {
	f := runtime.FuncForPC(pc)
	if f == nil {
		return executable("no function at the entry", cacheDir)
	}
	file, line := f.FileLine(f.Entry())
	if src, ok := cached(cacheDir, f.Name(), file, line, built); ok {
		return src.print()
	}
	src, err := fromSource(f.Name(), file, line, built)
	if err != nil {
		return executable(err.Error(), cacheDir)
	}
	save(cacheDir, src)
	return src.print()
}

// executable fingerprints the running binary, for functions whose source
// cannot be read.
func executable(why, cacheDir string) Print {
	sum, err := exeSum(cacheDir)
	if err != nil {
		return Print{Basis: fmt.Sprintf("nothing (%s; the executable: %v): entries are never reused", why, err)}
	}
	return Print{Sum: sum, Basis: fmt.Sprintf("the executable (%s)", why)}
}

// exeSums are the executable's hash, once per process.
var exeSums sync.Map // cache dir → uint64

// exeSum hashes the running executable, keeping the hash in cacheDir by
// the executable's path, size and modification time (hashing a large
// binary takes a while).
func exeSum(cacheDir string) (uint64, error) {
	if v, ok := exeSums.Load(cacheDir); ok {
		return v.(uint64), nil
	}
	path, err := os.Executable()
	if err != nil {
		return 0, err
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return 0, err
	}
	stamp := fileStamp{path, info.Size(), info.ModTime().UnixNano()}
	record := ""
	if cacheDir != "" {
		h := sha256.Sum256(fmt.Appendf(nil, "exe\x00%s", path))
		record = filepath.Join(cacheDir, fmt.Sprintf("exe-%x.json", h[:12]))
		var kept struct {
			fileStamp
			Sum uint64 `json:"sum"`
		}
		if b, err := os.ReadFile(record); err == nil && json.Unmarshal(b, &kept) == nil && kept.fileStamp == stamp {
			exeSums.Store(cacheDir, kept.Sum)
			return kept.Sum, nil
		}
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return 0, err
	}
	sum := binary.LittleEndian.Uint64(h.Sum(nil))
	exeSums.Store(cacheDir, sum)
	if record != "" {
		b, _ := json.Marshal(struct {
			fileStamp
			Sum uint64 `json:"sum"`
		}{stamp, sum})
		writeWhole(cacheDir, record, b)
	}
	return sum, nil
}

// pkg is a parsed package directory.
type pkg struct {
	dir   string
	name  string
	fset  *token.FileSet
	files map[*ast.File][]byte // source of each file
	decls map[string][]decl    // top-level name ("F", "T", "method.M") → declarations
}

type decl struct {
	node ast.Node
	file *ast.File
	pkg  *pkg
}

type printer struct {
	modPath, modDir string
	pkgs            map[string]*pkg // by directory
	seen            map[ast.Node]bool
	all, queue      []decl
	imports         map[string]bool
	built           func(time.Time) bool
	newer           string      // a file parsed that the executable was not built from
	files           []fileStamp // every file parsed
}

// source is what a fingerprint from source is made of: the files read,
// the hash of the declarations' tokens, and the packages outside the
// module whose versions count.
type source struct {
	Name    string      `json:"name"`
	File    string      `json:"file"`
	Line    int         `json:"line"`
	Files   []fileStamp `json:"files"`
	Tokens  string      `json:"tokens"` // hex SHA-256 of the declarations' tokens
	Decls   int         `json:"decls"`
	Imports []string    `json:"imports"`
}

// fileStamp is how a file was when it was read.
type fileStamp struct {
	Path  string `json:"path"`
	Size  int64  `json:"size"`
	Mtime int64  `json:"mtime"` // unix nanoseconds
}

// print combines the parts: the tokens, then the versions of the
// packages outside the module as this binary has them.
func (s source) print() Print {
	h := sha256.New()
	io.WriteString(h, s.Tokens)
	for _, path := range s.Imports {
		fmt.Fprintf(h, "\x00import %s %s", path, moduleVersion(path))
	}
	basis := fmt.Sprintf("the source of %s:%d and %d declarations it uses", filepath.Base(s.File), s.Line, s.Decls)
	if len(s.Imports) > 0 {
		basis += fmt.Sprintf(", versions of %d packages", len(s.Imports))
	}
	return Print{Sum: binary.LittleEndian.Uint64(h.Sum(nil)), Basis: basis}
}

func fromSource(name, file string, line int, built func(time.Time) bool) (source, error) {
	src, err := os.ReadFile(file)
	if err != nil {
		return source{}, fmt.Errorf("source %s unreadable", file)
	}
	pr := &printer{pkgs: map[string]*pkg{}, seen: map[ast.Node]bool{}, imports: map[string]bool{}, built: built}
	pr.modDir, pr.modPath = modroot.Find(filepath.Dir(file))
	fset := token.NewFileSet()
	target, err := parser.ParseFile(fset, file, src, parser.SkipObjectResolution)
	if err != nil {
		return source{}, fmt.Errorf("source %s does not parse", file)
	}
	p := pr.load(filepath.Dir(file), target.Name.Name)
	if p == nil {
		return source{}, fmt.Errorf("package of %s does not parse", file)
	}
	root := p.find(file, line, name)
	if root.node == nil {
		return source{}, fmt.Errorf("no function at %s:%d", filepath.Base(file), line)
	}
	pr.add(root)
	for len(pr.queue) > 0 {
		d := pr.queue[0]
		pr.queue = pr.queue[1:]
		pr.names(d)
	}
	if pr.newer != "" {
		return source{}, fmt.Errorf("source %s is newer than the executable", filepath.Base(pr.newer))
	}

	// The declarations' tokens in a fixed order.
	all := pr.all
	slices.SortFunc(all, func(a, b decl) int {
		pa, pb := a.pkg.fset.Position(a.node.Pos()), b.pkg.fset.Position(b.node.Pos())
		if c := strings.Compare(pa.Filename, pb.Filename); c != 0 {
			return c
		}
		return pa.Offset - pb.Offset
	})
	h := sha256.New()
	for _, d := range all {
		tokens(h, d)
	}
	s := source{Name: name, File: file, Line: line, Files: pr.files, Tokens: fmt.Sprintf("%x", h.Sum(nil)), Decls: len(all) - 1}
	for path := range pr.imports {
		s.Imports = append(s.Imports, path)
	}
	slices.Sort(s.Imports)
	return s, nil
}

// recordPath is where the fingerprint of the function name at file:line
// is kept in dir.
func recordPath(dir, name, file string, line int) string {
	h := sha256.Sum256(fmt.Appendf(nil, "%s\x00%s\x00%d", name, file, line))
	return filepath.Join(dir, fmt.Sprintf("%x.json", h[:12]))
}

// cached returns the fingerprint kept in dir, if every file it was made
// from is as it was then (and is what the executable was built from).
func cached(dir, name, file string, line int, built func(time.Time) bool) (source, bool) {
	if dir == "" {
		return source{}, false
	}
	b, err := os.ReadFile(recordPath(dir, name, file, line))
	if err != nil {
		return source{}, false
	}
	var s source
	if json.Unmarshal(b, &s) != nil || s.Name != name || s.File != file || s.Line != line || len(s.Files) == 0 {
		return source{}, false
	}
	for _, f := range s.Files {
		info, err := os.Stat(f.Path)
		if err != nil || info.Size() != f.Size || info.ModTime().UnixNano() != f.Mtime || built != nil && !built(info.ModTime()) {
			return source{}, false
		}
	}
	return s, true
}

// save keeps s in dir (a failure costs a parse at the next start,
// nothing else).
func save(dir string, s source) {
	if dir == "" {
		return
	}
	if b, err := json.Marshal(s); err == nil {
		writeWhole(dir, recordPath(dir, s.Name, s.File, s.Line), b)
	}
}

// writeWhole writes path (in dir) whole or not at all; a failure costs a
// computation at the next start, nothing else.
func writeWhole(dir, path string, b []byte) {
	if os.MkdirAll(dir, 0o700) == nil {
		diskstore.WriteFile(dir, filepath.Base(path), b)
	}
}

// load parses the package named name in dir (nil if nothing parses).
func (pr *printer) load(dir, name string) *pkg {
	if p, ok := pr.pkgs[dir]; ok {
		return p
	}
	pr.pkgs[dir] = nil
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	p := &pkg{dir: dir, name: name, fset: token.NewFileSet(), files: map[*ast.File][]byte{}, decls: map[string][]decl{}}
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".go") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		src, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		if pr.built != nil && !pr.built(info.ModTime()) && pr.newer == "" {
			pr.newer = path
		}
		pr.files = append(pr.files, fileStamp{path, info.Size(), info.ModTime().UnixNano()})
		f, err := parser.ParseFile(p.fset, path, src, parser.SkipObjectResolution)
		if err != nil || (name != "" && f.Name.Name != name) {
			continue
		}
		if p.name == "" {
			p.name = f.Name.Name
		}
		p.files[f] = src
		p.index(f)
	}
	if len(p.files) == 0 {
		return nil
	}
	pr.pkgs[dir] = p
	return p
}

func (p *pkg) index(f *ast.File) {
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			key := d.Name.Name
			if d.Recv != nil {
				key = "method." + key
			}
			p.decls[key] = append(p.decls[key], decl{d, f, p})
		case *ast.GenDecl:
			for _, s := range d.Specs {
				switch s := s.(type) {
				case *ast.TypeSpec:
					p.decls[s.Name.Name] = append(p.decls[s.Name.Name], decl{s, f, p})
				case *ast.ValueSpec:
					var n ast.Node = s
					if d.Tok == token.CONST {
						n = d // iota: a constant's value depends on its block
					}
					for _, id := range s.Names {
						p.decls[id.Name] = append(p.decls[id.Name], decl{n, f, p})
					}
				}
			}
		}
	}
}

// find returns the function declaration or literal at file:line, or the
// declaration named by the function's name.
func (p *pkg) find(file string, line int, name string) decl {
	var found decl
	for f := range p.files {
		if p.fset.Position(f.Pos()).Filename != file {
			continue
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if found.node != nil {
				return false
			}
			switch n := n.(type) {
			case *ast.FuncDecl, *ast.FuncLit:
				if p.fset.Position(n.Pos()).Line == line {
					found = decl{n, f, p}
					return false
				}
			}
			return true
		})
		if found.node == nil {
			// By name: "pkg.F", "pkg.(*T).M", "pkg.F[...]".
			short := name[strings.LastIndex(name, ".")+1:]
			short, _, _ = strings.Cut(short, "[")
			for _, d := range f.Decls {
				if fd, ok := d.(*ast.FuncDecl); ok && fd.Name.Name == short {
					found = decl{fd, f, p}
				}
			}
		}
	}
	return found
}

func (pr *printer) add(d decl) {
	if !pr.seen[d.node] {
		pr.seen[d.node] = true
		pr.all = append(pr.all, d)
		pr.queue = append(pr.queue, d)
	}
}

// names adds what d names: declarations of its package, declarations of
// other packages of the module, and the versions of other packages.
func (pr *printer) names(d decl) {
	imports := map[string]string{} // name in the file → import path
	for _, im := range d.file.Imports {
		path := strings.Trim(im.Path.Value, `"`)
		name := path[strings.LastIndex(path, "/")+1:]
		if im.Name != nil {
			name = im.Name.Name
		}
		imports[name] = path
	}
	ast.Inspect(d.node, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SelectorExpr:
			if x, ok := n.X.(*ast.Ident); ok {
				if path, ok := imports[x.Name]; ok && d.pkg.decls[x.Name] == nil {
					pr.imported(path, n.Sel.Name)
					return false
				}
			}
			for _, m := range d.pkg.decls["method."+n.Sel.Name] {
				pr.add(m)
			}
			ast.Inspect(n.X, func(n ast.Node) bool { return pr.ident(d, n) })
			return false
		default:
			return pr.ident(d, n)
		}
	})
}

func (pr *printer) ident(d decl, n ast.Node) bool {
	if id, ok := n.(*ast.Ident); ok {
		for _, t := range d.pkg.decls[id.Name] {
			pr.add(t)
		}
	}
	return true
}

// imported notes a use of sel from the package at path: its declaration
// for a package of the module, its version otherwise.
func (pr *printer) imported(path, sel string) {
	if pr.modPath != "" && (path == pr.modPath || strings.HasPrefix(path, pr.modPath+"/")) {
		dir := filepath.Join(pr.modDir, filepath.FromSlash(strings.TrimPrefix(path, pr.modPath)))
		if p := pr.load(dir, ""); p != nil {
			for _, d := range p.decls[sel] {
				pr.add(d)
			}
			return
		}
	}
	pr.imports[path] = true
}

// moduleVersion names the version of the module providing the package at
// path in this binary.
func moduleVersion(path string) string {
	first, _, _ := strings.Cut(path, "/")
	if !strings.Contains(first, ".") {
		return runtime.Version()
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	best := ""
	ver := "unknown"
	for _, m := range bi.Deps {
		if (path == m.Path || strings.HasPrefix(path, m.Path+"/")) && len(m.Path) > len(best) {
			best = m.Path
			if r := m.Replace; r != nil {
				ver = fmt.Sprintf("%s => %s %s %s", m.Version, r.Path, r.Version, r.Sum)
			} else {
				ver = m.Version + " " + m.Sum
			}
		}
	}
	if best == "" && (path == bi.Main.Path || strings.HasPrefix(path, bi.Main.Path+"/")) {
		ver = "main " + bi.Main.Version
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" || s.Key == "vcs.modified" {
				ver += " " + s.Value
			}
		}
	}
	return ver
}

// tokens writes d's tokens to h: its text without comments or layout.
func tokens(h io.Writer, d decl) {
	src := d.pkg.files[d.file]
	tf := d.pkg.fset.File(d.node.Pos())
	start, end := tf.Offset(d.node.Pos()), tf.Offset(d.node.End())
	var s scanner.Scanner
	fs := token.NewFileSet()
	s.Init(fs.AddFile("", -1, end-start), src[start:end], nil, 0)
	comma := false // a comma held back: before a closing bracket it is layout
	for {
		_, tok, lit := s.Scan()
		if tok == token.EOF {
			break
		}
		if tok == token.SEMICOLON && lit == "\n" {
			continue // automatic: layout, not code
		}
		if comma && tok != token.RPAREN && tok != token.RBRACE && tok != token.RBRACK {
			io.WriteString(h, ",\x00")
		}
		if comma = tok == token.COMMA; comma {
			continue
		}
		fmt.Fprintf(h, "%d %s\x00", tok, lit)
	}
	if comma {
		io.WriteString(h, ",\x00")
	}
	io.WriteString(h, "\x01")
}
