package annotate

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"strings"

	"github.com/cachelens/cachelens/codeactions"
	"github.com/cachelens/cachelens/server/internal/store"
)

// Severity of a diagnostic (LSP values).
type Severity int

// Severities.
const (
	Error        Severity = 1
	Warning      Severity = 2
	Information  Severity = 3
	HintSeverity Severity = 4
)

// Diag is a diagnostic found at run time.
type Diag struct {
	Start, End int
	Severity   Severity
	Code       string
	Message    string
	Related    []Related
}

// Related points at another place.
type Related struct {
	Path    string
	Line    int // 1-based, in the reporting program's source
	Message string
}

// noHitsAfter is how many misses without a single hit make a cache worth
// a diagnostic.
const noHitsAfter = 5

// RuntimeDiagnostics returns what the running programs found in the file:
// arguments that could not be hashed (with the concrete type seen),
// cached results a caller changed (at the site that received them),
// errors of the stores behind memory (a result not persisted, a corrupt
// entry), and caches that never hit.
func (pl *Placement) RuntimeDiagnostics() []Diag {
	var out []Diag
	for _, pd := range pl.Defs {
		d := pd.Def
		for _, e := range d.HashErrs {
			msg := fmt.Sprintf("%s: %s; %d %s ran uncached (seen at run time)", displayName(d.Name, pd.At.ID.Holder), e.Text, e.Count, plural(e.Count, "call", "calls"))
			diag := Diag{Start: pd.At.Call.Start, End: pd.At.Call.End, Severity: Warning, Code: "runtime-hasherr", Message: msg}
			if e.Site.Line > 0 {
				diag.Related = append(diag.Related, Related{Path: e.Site.File, Line: e.Site.Line, Message: "called here"})
			}
			out = append(out, diag)
		}
		for _, e := range d.StoreErrs {
			msg := fmt.Sprintf("%s: %s: %s (×%d, seen at run time)", displayName(d.Name, pd.At.ID.Holder), e.Tier, e.Message, e.Count)
			out = append(out, Diag{Start: pd.At.Call.Start, End: pd.At.Call.End, Severity: Warning, Code: "runtime-storeerr", Message: msg})
		}
		if d.Hits == 0 && d.Misses >= noHitsAfter {
			msg := fmt.Sprintf("%s missed all %d calls: nothing was reused", displayName(d.Name, pd.At.ID.Holder), d.Misses)
			if r := lastReason(d); r != "" {
				msg += "; last miss: " + r
			}
			out = append(out, Diag{Start: pd.At.Call.Start, End: pd.At.Call.End, Severity: Information, Code: "runtime-nohits", Message: msg})
		}
	}
	for _, ps := range pl.Sites {
		for _, m := range ps.Def.MutationLog {
			if m.Recv != ps.Site.Key {
				continue
			}
			what := "the cached result"
			if m.Path != "" {
				what = "the cached result (" + m.Path + ")"
			}
			msg := fmt.Sprintf("a caller changed %s received here; the change was noticed at line %d and the result recomputed (×%d)", what, m.Detect.Line, m.Count)
			out = append(out, Diag{Start: ps.At.Span.Start, End: ps.At.Span.End, Severity: Warning, Code: "runtime-mutation", Message: msg,
				Related: []Related{{Path: m.Detect.File, Line: m.Detect.Line, Message: "noticed here"}}})
		}
	}
	return out
}

func lastReason(d *store.Def) string {
	var best store.Reason
	for _, s := range d.Sites {
		for _, r := range s.Reasons {
			if r.Last.After(best.Last) {
				best = r
			}
		}
	}
	return best.Text
}

func shortName(name string) string {
	if i := strings.LastIndex(name, "/"); i >= 0 {
		name = name[i+1:]
	}
	return name
}

// displayName is how messages name a cached function: by the variable
// or field that holds it, as the static checks and the code call it
// ("loadCatalog"), when the source shows one; otherwise by the name the
// runtime knows, package-qualified ("main.loadUser"). The runtime knows
// a function literal only by its compiler name ("main.init.func1").
func displayName(name, holder string) string {
	if holder != "" {
		return holder
	}
	return shortName(name)
}

// isLiteralName reports whether name is a compiler-made name of a
// function literal: its last element is "funcN", possibly followed by
// ".N" for literals nested in it ("main.main.func2.1").
func isLiteralName(name string) bool {
	parts := strings.Split(shortName(name), ".")
	for i := len(parts) - 1; i > 0; i-- {
		p := parts[i]
		if digits(p) {
			continue
		}
		return strings.HasPrefix(p, "func") && digits(p[len("func"):])
	}
	return false
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Action is a quick fix driven by run-time findings.
type Action struct {
	Title string
	Code  string // the diagnostic code it fixes
	Edits []codeactions.Edit
}

// RuntimeActions returns fixes for run-time findings whose code overlaps
// [start, end]: a HashFunc for the concrete type a hash error named, and
// Clone at the site that received a mutated result.
func (pl *Placement) RuntimeActions(start, end int) []Action {
	if len(pl.Text) == 0 {
		return nil
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, pl.Path, pl.Text, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		return nil
	}
	file := &codeactions.File{Name: pl.Path, Fset: fset, AST: f, Src: pl.Text}
	overlaps := func(s, e int) bool { return s <= end && start <= e }
	var out []Action
	seen := map[string]bool{}
	for _, pd := range pl.Defs {
		if !overlaps(pd.At.Decl.Start, pd.At.Decl.End) {
			continue
		}
		call := callAt(fset, f, pd.At.Call.Start)
		if call == nil {
			continue
		}
		for _, e := range pd.Def.HashErrs {
			if e.Suggest == "" || seen[e.Suggest] {
				continue
			}
			seen[e.Suggest] = true
			typ, ok := sourceType(e.Suggest, f)
			if !ok {
				continue
			}
			var need []codeactions.Import
			rt := file.RuntimeName(&need)
			for _, fix := range []struct{ title, opt string }{
				{fmt.Sprintf("Ignore %s when hashing (seen at run time)", typ), fmt.Sprintf("%s.HashFunc(func(%s) any { return nil })", rt, typ)},
			} {
				edits, err := codeactions.AddOption(file, call, fix.opt, need)
				if err == nil {
					out = append(out, Action{Title: fix.title, Code: "runtime-hasherr", Edits: edits})
				}
			}
		}
	}
	for _, ps := range pl.Sites {
		if !overlaps(ps.At.Span.Start, ps.At.Span.End) {
			continue
		}
		mutated := false
		for _, m := range ps.Def.MutationLog {
			if m.Recv == ps.Site.Key {
				mutated = true
			}
		}
		if !mutated {
			continue
		}
		call := callAt(fset, f, ps.At.Span.Start)
		if call == nil || codeactions.Cloned(file, call) {
			continue // already works on a copy
		}
		var edits []codeactions.Edit
		if stmt, name := multiAssign(f, call); stmt != nil {
			edits, err = codeactions.CloneAfter(file, stmt, name)
		} else {
			edits, err = codeactions.WrapInClone(file, call)
		}
		if err == nil {
			out = append(out, Action{Title: "Work on a copy (cacheruntime.Clone) of the result a caller changed at run time", Code: "runtime-mutation", Edits: edits})
		}
	}
	return out
}

// callAt returns the call expression starting at byte offset off.
func callAt(fset *token.FileSet, f *ast.File, off int) *ast.CallExpr {
	var found *ast.CallExpr
	ast.Inspect(f, func(n ast.Node) bool {
		if found != nil {
			return false
		}
		if c, ok := n.(*ast.CallExpr); ok && fset.Position(c.Pos()).Offset == off {
			found = c
		}
		return true
	})
	return found
}

// multiAssign reports whether call is the only value of an assignment to
// several variables (x, err := f()), returning the statement and the
// first variable's name.
func multiAssign(f *ast.File, call *ast.CallExpr) (ast.Stmt, string) {
	var stmt ast.Stmt
	var name string
	ast.Inspect(f, func(n ast.Node) bool {
		if as, ok := n.(*ast.AssignStmt); ok && len(as.Rhs) == 1 && len(as.Lhs) > 1 && ast.Unparen(as.Rhs[0]) == call {
			if id, ok := as.Lhs[0].(*ast.Ident); ok && id.Name != "_" {
				stmt, name = as, id.Name
			}
		}
		return stmt == nil
	})
	return stmt, name
}

// sourceType writes a type the runtime named (reflect's "main.Notifier",
// "*sql.DB") as the file would: unqualified in its own package, through
// the file's import otherwise.
func sourceType(rtype string, f *ast.File) (string, bool) {
	ptr := ""
	for strings.HasPrefix(rtype, "*") {
		ptr += "*"
		rtype = rtype[1:]
	}
	i := strings.LastIndex(rtype, ".")
	if i < 0 || strings.ContainsAny(rtype, "()[]{} ") {
		return ptr + rtype, !strings.Contains(rtype, ".")
	}
	pkg, name := rtype[:i], rtype[i+1:]
	if pkg == f.Name.Name {
		return ptr + name, true
	}
	for _, imp := range f.Imports {
		path := strings.Trim(imp.Path.Value, `"`)
		base := path[strings.LastIndex(path, "/")+1:]
		local := base
		if imp.Name != nil {
			local = imp.Name.Name
		}
		// reflect names the package by its name, usually the last
		// element of its path; the file may import it under another.
		if local == pkg || base == pkg {
			return ptr + local + "." + name, true
		}
	}
	return "", false
}
