package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cachelens/cachelens/codeactions"
	"github.com/cachelens/cachelens/diagnostics"
	"github.com/cachelens/cachelens/diagnostics/driver"
)

// check runs the static checks like go vet: findings as
// "file:line:col: message [check]", exit status 1 if there are any.
func check(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fix := fs.Bool("fix", false, "apply the first suggested fix of each finding")
	jsonOut := fs.Bool("json", false, "print findings and their fixes as JSON")
	tests := fs.Bool("tests", true, "check test files too")
	dir := fs.String("C", "", "run in this directory")
	useCache := fs.Bool("cache", true, "reuse the findings of an identical earlier run (same sources, toolchain and flags), and of each package whose files and dependencies did not change")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: cachelens check [-fix] [-json] [-tests=false] [-C dir] [packages]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *dir != "" {
		if fi, err := os.Stat(*dir); err != nil || !fi.IsDir() {
			fmt.Fprintf(stderr, "cachelens check: -C %s: not a directory\n", *dir)
			return 2
		}
	}
	cfg := driver.Config{Dir: *dir, Patterns: fs.Args(), Tests: *tests, Requires: diagnostics.Requires()}
	key := ""
	wd := cmp.Or(*dir, ".")
	if *useCache {
		var salt string
		var sources map[string]string
		key, salt, sources, _ = cacheKey(wd, fs.Args(), *tests)
		if !*fix {
			if res, ok := loadCached(key); ok {
				return report(res, *jsonOut, stdout, stderr)
			}
		}
		if salt != "" {
			if pc := openPkgCache(); pc != nil {
				cfg.Cache, cfg.CacheSalt, cfg.Sources = pc, salt, sources
			}
		}
	}
	var fixed []string
	rounds := 0
	for {
		res, err := analyze(cfg)
		if err != nil {
			fmt.Fprintf(stderr, "cachelens check: %v\n", explainLoad(err, *dir))
			return 2
		}
		if *fix && rounds < 5 {
			applied, err := applyFixes(res.Findings)
			if err != nil {
				fmt.Fprintf(stderr, "cachelens check: %v\n", err)
				return 2
			}
			if len(applied) > 0 {
				// Fixes can change what other fixes should do (names,
				// imports): apply them in rounds, re-checking between.
				fixed = append(fixed, applied...)
				rounds++
				if key != "" {
					// The files changed: digest them again, or the next
					// round would take the edited packages for unchanged
					// and the result would be kept under the key of the
					// tree before the fixes.
					var sources map[string]string
					key, _, sources, _ = cacheKey(wd, fs.Args(), *tests)
					if cfg.Sources != nil {
						cfg.Sources = sources
					}
				}
				continue
			}
		}
		for _, f := range fixed {
			fmt.Fprintln(stderr, "fixed:", f)
		}
		storeCached(key, res)
		return report(res, *jsonOut, stdout, stderr)
	}
}

func analyze(cfg driver.Config) (driver.Result, error) {
	prog, err := driver.Load(context.Background(), cfg)
	if err != nil {
		return driver.Result{}, err
	}
	res := prog.Run(diagnostics.Analyzers())
	if len(res.Errors) == 1 && errors.Is(res.Errors[0], driver.ErrCacheStale) {
		cfg.Cache = nil
		return analyze(cfg)
	}
	return res, nil
}

// applyFixes writes the first fix of each finding whose edits do not
// overlap an earlier one, and describes what it did.
func applyFixes(findings []driver.Finding) ([]string, error) {
	var fixes [][]codeactions.Edit
	var described []string
	for _, f := range findings {
		if len(f.Fixes) == 0 {
			continue
		}
		fix := f.Fixes[0]
		edits, err := codeactions.NormalizeFix(os.ReadFile, fix.Edits)
		if err != nil {
			continue // a fix that does not apply cleanly is not applied
		}
		fixes = append(fixes, edits)
		described = append(described, fmt.Sprintf("%s: %s [%s]", posString(f.Pos), fix.Message, f.Analyzer))
	}
	picked, byFile := codeactions.Choose(fixes)
	var done []string
	for _, i := range picked {
		done = append(done, described[i])
	}
	for file, edits := range byFile {
		src, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		if codeactions.Generated(src) {
			// Never edit generated code: the next generation would undo
			// it. Say so instead.
			for i := range done {
				if strings.HasPrefix(done[i], posString(fileOnly(file))) {
					done[i] = "not applied (generated file): " + done[i]
				}
			}
			continue
		}
		out, err := codeactions.Apply(src, edits)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		fi, err := os.Stat(file)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(file, out, fi.Mode().Perm()); err != nil {
			return nil, err
		}
	}
	return done, nil
}

// posString prints a position relative to the working directory when it
// is inside it.
func posString(p interface {
	String() string
}) string {
	s := p.String()
	if wd, err := os.Getwd(); err == nil {
		if rel, ok := strings.CutPrefix(s, wd+string(filepath.Separator)); ok {
			return rel
		}
	}
	return s
}

type jsonEdit struct {
	File  string `json:"file"`
	Start int    `json:"start"`
	End   int    `json:"end"`
	New   string `json:"new"`
}

type jsonFix struct {
	Message string     `json:"message"`
	Edits   []jsonEdit `json:"edits"`
}

type jsonRelated struct {
	Posn    string `json:"posn"`
	Message string `json:"message"`
}

type jsonFinding struct {
	Check   string        `json:"check"`
	Posn    string        `json:"posn"`
	End     string        `json:"end"`
	Message string        `json:"message"`
	Package string        `json:"package"`
	Related []jsonRelated `json:"related,omitempty"`
	Fixes   []jsonFix     `json:"fixes,omitempty"`
}

type jsonReport struct {
	Findings []jsonFinding `json:"findings"`
	Errors   []string      `json:"errors,omitempty"`
}

func report(res driver.Result, asJSON bool, stdout, stderr io.Writer) int {
	status := 0
	if len(res.Findings) > 0 {
		status = 1
	}
	var pkgErrs, internal []string
	for _, err := range res.Errors {
		var pe driver.PackageError
		if errors.As(err, &pe) {
			pkgErrs = append(pkgErrs, err.Error())
		} else {
			internal = append(internal, err.Error())
		}
	}
	if asJSON {
		out := jsonReport{Findings: []jsonFinding{}}
		for _, f := range res.Findings {
			jf := jsonFinding{Check: f.Analyzer, Posn: f.Pos.String(), End: f.End.String(), Message: f.Message, Package: f.Package}
			for _, r := range f.Related {
				jf.Related = append(jf.Related, jsonRelated{Posn: r.Pos.String(), Message: r.Message})
			}
			for _, fx := range f.Fixes {
				jfx := jsonFix{Message: fx.Message}
				edits, err := codeactions.NormalizeFix(os.ReadFile, fx.Edits)
				if err != nil {
					continue
				}
				for _, e := range edits {
					jfx.Edits = append(jfx.Edits, jsonEdit{File: e.File, Start: e.Start, End: e.End, New: e.New})
				}
				jf.Fixes = append(jf.Fixes, jfx)
			}
			out.Findings = append(out.Findings, jf)
		}
		out.Errors = append(slices.Clone(pkgErrs), internal...)
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(out)
	} else {
		for _, f := range res.Findings {
			fmt.Fprintf(stdout, "%s: %s [%s]\n", posString(f.Pos), f.Message, f.Analyzer)
		}
	}
	if len(pkgErrs) > 0 {
		status = 1
		if !asJSON {
			fmt.Fprintf(stderr, "cachelens check: %d packages have errors; the checks that could run on them are reported above:\n", countPkgs(res.Errors))
			for _, e := range pkgErrs {
				fmt.Fprintln(stderr, "\t"+e)
			}
		}
	}
	if len(internal) > 0 {
		status = 1
		if !asJSON {
			for _, e := range internal {
				fmt.Fprintln(stderr, "cachelens check:", e)
			}
		}
	}
	return status
}

func countPkgs(errs []error) int {
	seen := map[string]bool{}
	for _, err := range errs {
		var pe driver.PackageError
		if errors.As(err, &pe) {
			seen[pe.Pkg] = true
		}
	}
	return len(seen)
}

// fileOnly makes a file name print like a position's file part.
type fileOnly string

func (f fileOnly) String() string { return string(f) }

// explainLoad turns go list's errors when there is no module into advice.
func explainLoad(err error, dir string) error {
	msg := err.Error()
	if strings.Contains(msg, "does not contain main module") || strings.Contains(msg, "go.mod file not found") {
		if dir == "" {
			dir = "."
		}
		return fmt.Errorf("no Go module here (no go.mod in %s or above): run cachelens check inside a module, or go mod init first", dir)
	}
	return err
}
