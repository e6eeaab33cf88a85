package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"

	example "github.com/cachelens/cachelens"
	"github.com/cachelens/cachelens/codeactions"
	"github.com/cachelens/cachelens/diagnostics"
	"github.com/cachelens/cachelens/diagnostics/driver"
	"github.com/cachelens/cachelens/server/observe"
)

// demo builds and runs the bundled example program against an in-process
// server and prints the example's source with what an editor would show:
// hit and miss counts at the ends of lines, the diagnostics and the fixes
// on offer. With -fix it applies the fixes to a copy and shows the diff.
func demo(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fix := fs.Bool("fix", false, "apply the fixes to a copy of the example and show the diff")
	color := fs.String("color", "auto", "colour the output: auto, always or never")
	keep := fs.Bool("keep", false, "keep the example's temporary directory and print its path")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: cachelens demo [-fix] [-color auto|always|never] [-keep]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	d := &demoRun{out: stdout, status: newStatus(stderr), color: useColor(*color, stdout)}
	code := d.run(*fix, *keep)
	d.status.done()
	return code
}

type demoRun struct {
	out    io.Writer
	status *statusLine
	color  bool
	dir    string
}

func (d *demoRun) fail(format string, args ...any) int {
	d.status.done()
	fmt.Fprintf(d.out, "cachelens demo: "+format+"\n", args...)
	return 1
}

func (d *demoRun) run(fix, keep bool) int {
	dir, err := os.MkdirTemp("", "cachelens-demo")
	if err != nil {
		return d.fail("%v", err)
	}
	d.dir = dir
	if keep {
		defer fmt.Fprintf(d.out, "\nThe example is in %s\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	mod := filepath.Join(dir, "catalog")
	d.status.set("preparing the example module")
	if err := writeExample(mod); err != nil {
		return d.fail("%v", err)
	}

	d.status.set("building the example (go build)")
	bin := filepath.Join(dir, "catalog-bin")
	if out, err := goCmd(mod, nil, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		return d.fail("building the example: %v\n%s", err, out)
	}
	// The example runs against the same collector and store the language
	// server uses, on a private socket.
	d.status.set("running the example")
	run := exec.Command(bin)
	run.Dir = mod
	obs, programOut, err := observe.Run(run, dir)
	if err != nil {
		return d.fail("%v\n%s", err, programOut)
	}

	d.status.set("running the static checks")
	prog, err := driver.Load(context.Background(), driver.Config{Dir: mod, Requires: diagnostics.Requires()})
	if err != nil {
		return d.fail("loading the example: %v", err)
	}
	res := prog.Run(diagnostics.Analyzers())
	d.status.done()

	mainGo := filepath.Join(mod, "main.go")
	file := obs.File(mainGo)
	d.printSource(mainGo, file, res)
	d.printFindings(mainGo, file, res)
	if fix {
		return d.applyFixes(mod, mainGo, res)
	}
	return 0
}

// writeExample writes the example into a module that uses this cachelens
// (the source it was built from when it is on this machine).
func writeExample(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), example.ExampleProgram, 0o644); err != nil {
		return err
	}
	gomod := "module example.com/catalog\n\ngo 1.26\n\n"
	if src := sourceDir(); src != "" {
		gomod += "require github.com/cachelens/cachelens v0.0.0\n\nreplace github.com/cachelens/cachelens => " + src + "\n"
		if sum, err := os.ReadFile(filepath.Join(src, "go.sum")); err == nil {
			os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644)
		}
	} else {
		v := "latest"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		gomod += "require github.com/cachelens/cachelens " + v + "\n"
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644); err != nil {
		return err
	}
	if out, err := goCmd(dir, nil, "mod", "tidy").CombinedOutput(); err != nil {
		return fmt.Errorf("go mod tidy: %v\n%s", err, out)
	}
	return nil
}

// sourceDir returns the directory of the cachelens module this binary was
// built from, if it is on this machine (a checkout or the module cache).
func sourceDir() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok || !filepath.IsAbs(file) {
		return ""
	}
	root := filepath.Dir(filepath.Dir(filepath.Dir(file)))
	data, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil || !bytes.HasPrefix(data, []byte("module github.com/cachelens/cachelens\n")) {
		return ""
	}
	return root
}

func goCmd(dir string, env []string, args ...string) *exec.Cmd {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	return cmd
}

// ANSI colours.
const (
	reset   = "\x1b[0m"
	dim     = "\x1b[2m"
	bold    = "\x1b[1m"
	magenta = "\x1b[35m"
	cyan    = "\x1b[36m"
	yellow  = "\x1b[33m"
	green   = "\x1b[32m"
	red     = "\x1b[31m"
)

func (d *demoRun) paint(code, s string) string {
	if !d.color {
		return s
	}
	return code + s + reset
}

// lineDiag is a diagnostic placed on a line of the example.
type lineDiag struct {
	line    int // 1-based
	code    string
	message string
	fixes   []string
}

func (d *demoRun) diags(path string, file observe.File, res driver.Result) []lineDiag {
	var out []lineDiag
	for _, f := range res.Findings {
		if f.Pos.Filename != path {
			continue
		}
		ld := lineDiag{line: f.Pos.Line, code: f.Analyzer, message: f.Message}
		for _, fx := range f.Fixes {
			ld.fixes = append(ld.fixes, fx.Message)
		}
		out = append(out, ld)
	}
	for _, rd := range file.Diagnostics {
		out = append(out, lineDiag{line: rd.Line, code: rd.Code, message: rd.Message, fixes: rd.Fixes})
	}
	slices.SortStableFunc(out, func(a, b lineDiag) int { return a.line - b.line })
	return out
}

// printSource prints the example with the annotations an editor shows.
func (d *demoRun) printSource(path string, file observe.File, res driver.Result) {
	lines := strings.Split(strings.TrimRight(string(file.Text), "\n"), "\n")
	lenses := map[int][]string{}
	for _, l := range file.Lenses {
		lenses[l.Line] = append(lenses[l.Line], l.Text)
	}
	hints := map[int][]string{}
	for _, h := range file.Hints {
		hints[h.Line] = append(hints[h.Line], h.Text)
	}
	marks := map[int]int{}
	for _, ld := range d.diags(path, file, res) {
		marks[ld.line]++
	}
	fmt.Fprintln(d.out, d.paint(bold, "example/catalog/main.go")+d.paint(dim, ", as your editor shows it after one run:"))
	fmt.Fprintln(d.out)
	for i, text := range lines {
		n := i + 1
		for _, l := range lenses[n] {
			indent := text[:len(text)-len(strings.TrimLeft(text, "\t "))]
			fmt.Fprintf(d.out, "%s  %s%s\n", d.paint(dim, "    "), strings.ReplaceAll(indent, "\t", "    "), d.paint(magenta, "▸ "+l))
		}
		line := fmt.Sprintf("%s  %s", d.paint(dim, fmt.Sprintf("%4d", n)), strings.ReplaceAll(text, "\t", "    "))
		var tail []string
		for _, h := range hints[n] {
			tail = append(tail, d.paint(cyan, "◂ "+h))
		}
		if m := marks[n]; m > 0 {
			tail = append(tail, d.paint(yellow, fmt.Sprintf("⚠ %d", m)))
		}
		if len(tail) > 0 {
			line += "   " + strings.Join(tail, "  ")
		}
		fmt.Fprintln(d.out, line)
	}
}

func (d *demoRun) printFindings(path string, file observe.File, res driver.Result) {
	ds := d.diags(path, file, res)
	fmt.Fprintln(d.out)
	fmt.Fprintln(d.out, d.paint(bold, fmt.Sprintf("%d diagnostics", len(ds)))+d.paint(dim, " (static checks, and what the running program reported):"))
	for _, ld := range ds {
		fmt.Fprintf(d.out, "\n  %s %s\n", d.paint(yellow, fmt.Sprintf("main.go:%d", ld.line)), d.paint(dim, "["+ld.code+"]"))
		fmt.Fprintf(d.out, "    %s\n", ld.message)
		for _, f := range ld.fixes {
			fmt.Fprintf(d.out, "    %s %s\n", d.paint(green, "fix:"), f)
		}
	}
	for _, err := range res.Errors {
		fmt.Fprintf(d.out, "\n  %s %v\n", d.paint(red, "error:"), err)
	}
	fmt.Fprintln(d.out)
	fmt.Fprintln(d.out, d.paint(dim, "Run `cachelens demo -fix` to apply the fixes to a copy, `cachelens check ./...` on your code,"))
	fmt.Fprintln(d.out, d.paint(dim, "or install the editor extension to see this while you work (see README.md)."))
}

// applyFixes applies the first fix of each static finding to a copy of
// the example, shows the diff and builds the result.
func (d *demoRun) applyFixes(mod, mainGo string, res driver.Result) int {
	fixed := filepath.Join(d.dir, "fixed")
	if err := copyDir(mod, fixed); err != nil {
		return d.fail("%v", err)
	}
	orig, _ := os.ReadFile(mainGo)
	var fixes [][]codeactions.Edit
	var messages []string
	for _, f := range res.Findings {
		if len(f.Fixes) == 0 {
			continue
		}
		edits, err := codeactions.NormalizeFix(os.ReadFile, f.Fixes[0].Edits)
		if err != nil {
			continue
		}
		fixes = append(fixes, edits)
		messages = append(messages, f.Fixes[0].Message)
	}
	picked, byFile := codeactions.Choose(fixes)
	var applied []string
	for _, i := range picked {
		applied = append(applied, messages[i])
	}
	var all []codeactions.Edit // the example is one file: main.go
	for _, edits := range byFile {
		all = append(all, edits...)
	}
	out, err := codeactions.Apply(orig, all)
	if err != nil {
		return d.fail("applying the fixes: %v", err)
	}
	if err := os.WriteFile(filepath.Join(fixed, "main.go"), out, 0o644); err != nil {
		return d.fail("%v", err)
	}
	fmt.Fprintln(d.out)
	fmt.Fprintln(d.out, d.paint(bold, fmt.Sprintf("Applied %d fixes to a copy:", len(applied))))
	for _, a := range applied {
		fmt.Fprintln(d.out, "  "+d.paint(green, "✓ ")+a)
	}
	fmt.Fprintln(d.out)
	for _, l := range strings.SplitAfter(codeactions.Unified("main.go", orig, out, 2), "\n") {
		switch {
		case strings.HasPrefix(l, "+") && !strings.HasPrefix(l, "+++"):
			fmt.Fprint(d.out, d.paint(green, strings.TrimSuffix(l, "\n"))+"\n")
		case strings.HasPrefix(l, "-") && !strings.HasPrefix(l, "---"):
			fmt.Fprint(d.out, d.paint(red, strings.TrimSuffix(l, "\n"))+"\n")
		default:
			fmt.Fprint(d.out, l)
		}
	}
	d.status.set("building the fixed copy")
	if out, err := goCmd(fixed, nil, "build", "-o", os.DevNull, ".").CombinedOutput(); err != nil {
		return d.fail("the fixed example does not build: %v\n%s", err, out)
	}
	d.status.done()
	fmt.Fprintln(d.out, "\n"+d.paint(green, "The fixed copy builds."))
	return 0
}

func copyDir(from, to string) error {
	if err := os.MkdirAll(to, 0o755); err != nil {
		return err
	}
	entries, err := os.ReadDir(from)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// useColor decides whether to colour: always, never, or auto (a terminal
// and no NO_COLOR).
func useColor(mode string, w io.Writer) bool {
	switch mode {
	case "always":
		return true
	case "never":
		return false
	}
	return isTerminal(w) && os.Getenv("NO_COLOR") == ""
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// statusLine shows progress on one line of a terminal (or one line per
// step otherwise).
type statusLine struct {
	w    io.Writer
	tty  bool
	last string
}

func newStatus(w io.Writer) *statusLine { return &statusLine{w: w, tty: isTerminal(w)} }

func (s *statusLine) set(msg string) {
	if s.tty {
		fmt.Fprintf(s.w, "\r\x1b[K%s…", msg)
	} else {
		fmt.Fprintf(s.w, "%s…\n", msg)
	}
	s.last = msg
}

func (s *statusLine) done() {
	if s.tty && s.last != "" {
		fmt.Fprint(s.w, "\r\x1b[K")
	}
	s.last = ""
}
