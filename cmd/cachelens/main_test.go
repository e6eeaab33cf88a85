package main

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cachelens/cachelens/internal/testmodule"
)

var binary, goCache string

func TestMain(m *testing.M) {
	if arg := os.Getenv(attackEnv); arg != "" {
		attack(arg)
		return
	}
	dir, err := os.MkdirTemp("", "cachelens-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "cachelens")
	// The tests give cachelens its own XDG_CACHE_HOME; keep Go's build
	// cache where it is.
	if out, err := exec.Command("go", "env", "GOCACHE").Output(); err == nil {
		goCache = strings.TrimSpace(string(out))
	}
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		panic(string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// module copies testdata/checkmod into a temporary module that uses this
// repository's cacheruntime.
func module(t *testing.T, withBroken bool) string {
	t.Helper()
	src := "testdata/checkmod"
	files := map[string]string{}
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			if rel == "broken" && !withBroken {
				return filepath.SkipDir
			}
			return nil
		}
		data, err := os.ReadFile(path)
		files[rel] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	testmodule.Write(t, dir, "example.com/checkmod", files)
	return dir
}

func cachelens(t *testing.T, dir string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+cacheHome(t), "GOCACHE="+goCache)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

var cacheHomes = map[*testing.T]string{}

// cacheHome gives each test its own result cache.
func cacheHome(t *testing.T) string {
	if d, ok := cacheHomes[t]; ok {
		return d
	}
	d := t.TempDir()
	cacheHomes[t] = d
	return d
}

var lineRE = regexp.MustCompile(`^(\S+\.go):(\d+):(\d+): (.+) \[(\w+)\]$`)

func TestCheck(t *testing.T) {
	dir := module(t, false)
	out, errOut, code := cachelens(t, dir, "check")
	if code != 1 {
		t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	got := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		m := lineRE.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("not vet-style: %q", l)
		}
		got[m[5]] = m[1] + ": " + m[4]
	}
	want := map[string]string{
		"unhashable":  "store/store.go: Notify: arg 1 n (Notifier).Send: func(string) error cannot be hashed, so every call runs uncached",
		"mutated":     "web/web.go: assignment to cat.Products[0].Price changes the result cached by LoadCatalog (received at line 11), which every later call returns",
		"percall":     "web/web.go: cacheruntime.Func1 builds the cache get inside Handle, so every call of Handle starts with a new, empty cache and nothing is reused",
		"hiddeninput": "store/store.go: stamp is cached by Stamp, but its result depends on time.Now(), which is not part of the cache key",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s:\n got %q\nwant %q", k, got[k], w)
		}
	}
	// Only one package: the cached variable in store is still recognised.
	out, _, code = cachelens(t, dir, "check", "./web")
	if code != 1 || !strings.Contains(out, "[mutated]") || strings.Contains(out, "store.go") {
		t.Errorf("check ./web: exit %d\n%s", code, out)
	}
	out, errOut, code = cachelens(t, dir, "check", "./clean")
	if code != 0 || out != "" {
		t.Errorf("check ./clean: exit %d\n%s%s", code, out, errOut)
	}
}

func TestCheckJSON(t *testing.T) {
	dir := module(t, false)
	out, _, code := cachelens(t, dir, "check", "-json")
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	var rep jsonReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(rep.Findings) != 4 {
		t.Fatalf("findings %+v", rep.Findings)
	}
	for _, f := range rep.Findings {
		switch f.Check {
		case "unhashable":
			if len(f.Fixes) != 2 || f.Fixes[0].Message != "Hash Notifier by its hashable fields (Channel)" || f.Fixes[1].Message != "Ignore Notifier when hashing" {
				t.Errorf("unhashable fixes %+v", f.Fixes)
			}
		case "mutated":
			if len(f.Fixes) != 2 || f.Fixes[1].Message != "Allow mutation of LoadCatalog's result" || !strings.HasSuffix(f.Fixes[1].Edits[0].File, "store/store.go") {
				t.Errorf("mutated fixes %+v", f.Fixes)
			}
		}
	}
}

func TestCheckFix(t *testing.T) {
	dir := module(t, false)
	before, _, _ := cachelens(t, dir, "check")
	originals := map[string][]byte{}
	for _, f := range []string{"store/store.go", "web/web.go"} {
		originals[f], _ = os.ReadFile(filepath.Join(dir, f))
	}
	_, errOut, code := cachelens(t, dir, "check", "-fix")
	if code != 1 { // hiddeninput has no fix: it stays
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	if n := strings.Count(errOut, "fixed: "); n != 3 {
		t.Errorf("%d fixes applied, want 3:\n%s", n, errOut)
	}
	out, _, code := cachelens(t, dir, "check")
	if code != 1 || strings.Count(strings.TrimSpace(out), "\n") != 0 || !strings.Contains(out, "[hiddeninput]") {
		t.Errorf("after -fix: exit %d\n%s", code, out)
	}
	build := exec.Command("go", "build", "./...")
	build.Dir = dir
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("the fixed module does not build: %v\n%s", err, out)
	}
	web, _ := os.ReadFile(filepath.Join(dir, "web", "web.go"))
	if !strings.Contains(string(web), "cacheruntime.Clone(store.LoadCatalog(region))") || !strings.Contains(string(web), "var get = cacheruntime.Func1(") {
		t.Errorf("web.go after -fix:\n%s", web)
	}

	// The fixed run's result is kept under the fixed tree's key: with the
	// fixes undone, check finds again what it found before them.
	for f, src := range originals {
		os.WriteFile(filepath.Join(dir, f), src, 0o644)
	}
	if again, _, _ := cachelens(t, dir, "check"); again != before {
		t.Errorf("with the fixes undone, check reports\n%s\nwant, as before them,\n%s", again, before)
	}
}

func TestCheckBrokenCode(t *testing.T) {
	dir := module(t, true)
	out, errOut, code := cachelens(t, dir, "check", "./...")
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(out, "broken/broken.go:11:31: load: arg 1 c (Cfg).Hook: func() cannot be hashed") {
		t.Errorf("the checks that can run did not run on the broken package:\n%s", out)
	}
	if !strings.Contains(errOut, "packages have errors") || !strings.Contains(errOut, `cannot use "not a number"`) {
		t.Errorf("no clear message about the type error:\n%s", errOut)
	}
	// A syntax error too.
	os.Rename(filepath.Join(dir, "broken", "syntax.go.txt"), filepath.Join(dir, "broken", "syntax.go"))
	out, errOut, code = cachelens(t, dir, "check", "./...")
	if code != 1 || strings.Contains(errOut, "panic") || !strings.Contains(errOut, "syntax.go:3") {
		t.Errorf("syntax error: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "[mutated]") {
		t.Errorf("the other packages were not checked:\n%s", out)
	}
}

func TestVetTool(t *testing.T) {
	dir := module(t, false)
	cmd := exec.Command("go", "vet", "-vettool="+binary, "./...")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("go vet found nothing:\n%s", out)
	}
	for _, want := range []string{"Notify: arg 1 n (Notifier).Send", "changes the result cached by LoadCatalog", "builds the cache get inside Handle", "depends on time.Now()"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("go vet output lacks %q:\n%s", want, out)
		}
	}
}

func TestUsage(t *testing.T) {
	_, errOut, code := cachelens(t, t.TempDir(), "frobnicate")
	if code != 2 || !strings.Contains(errOut, "unknown command") {
		t.Errorf("exit %d: %s", code, errOut)
	}
	out, _, code := cachelens(t, t.TempDir(), "version")
	if code != 0 || !strings.HasPrefix(out, "cachelens ") {
		t.Errorf("version: %d %q", code, out)
	}
	for _, arg := range []string{"help", "-h", "-help", "--help"} {
		out, errOut, code := cachelens(t, t.TempDir(), arg)
		if code != 0 || !strings.Contains(out, "cachelens check") || !strings.Contains(out, "cachelens demo") {
			t.Errorf("cachelens %s: exit %d, does not list the commands:\n%s%s", arg, code, out, errOut)
		}
	}
	_, errOut, code = cachelens(t, t.TempDir(), "check")
	if code != 2 || !strings.Contains(errOut, "cachelens check:") {
		t.Errorf("check outside a module: exit %d: %s", code, errOut)
	}
}

// TestCheckCache: an identical second run reuses the findings; any edit
// re-checks.
func TestCheckCache(t *testing.T) {
	dir := module(t, false)
	first, _, code1 := cachelens(t, dir, "check")
	second, _, code2 := cachelens(t, dir, "check")
	if first != second || code1 != code2 || code1 != 1 {
		t.Fatalf("second run differs:\n%s\n---\n%s", first, second)
	}
	runs, _ := filepath.Glob(filepath.Join(cacheHome(t), "cachelens", "check", "*.json"))
	if len(runs) != 1 {
		t.Fatalf("runs stored: %v", runs)
	}
	// Each analyzed package is stored too.
	if pkgs, _ := filepath.Glob(filepath.Join(cacheHome(t), "cachelens", "check", "pkg", "*", "*")); len(pkgs) == 0 {
		t.Fatal("no package entries stored")
	}
	// An edit that adds a finding must show up.
	clean := filepath.Join(dir, "clean", "clean.go")
	src, _ := os.ReadFile(clean)
	src = append(src, []byte("\nfunc Twice(n int) int {\n\tf := cacheruntime.Func1(func(x int) int { return 2 * x })\n\treturn f(n)\n}\n")...)
	os.WriteFile(clean, src, 0o644)
	third, _, _ := cachelens(t, dir, "check")
	if !strings.Contains(third, "clean/clean.go") || !strings.Contains(third, "inside Twice") {
		t.Fatalf("the edit was not seen:\n%s", third)
	}
	if out, _, _ := cachelens(t, dir, "check", "-cache=false"); out != third {
		t.Fatalf("-cache=false differs:\n%s\n---\n%s", out, third)
	}
}

// workspace writes a go.work with two modules: dep, whose Sort either
// sorts its argument in place (mutating) or works on a copy, and app,
// which passes a cached result to it. The cross-module finding in app
// needs dep's facts.
func workspace(t *testing.T, mutating bool) string {
	t.Helper()
	root := t.TempDir()
	repo := testmodule.Root(t)
	sum, _ := os.ReadFile(filepath.Join(repo, "go.sum"))
	write := func(rel, content string) {
		p := filepath.Join(root, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("dep/go.mod", "module example.com/dep\n\ngo 1.26\n")
	write("dep/dep.go", depSource(mutating))
	// app imports dep, which the go.work provides (no require needed).
	write("app/go.mod", "module example.com/app\n\ngo 1.26\n\nrequire github.com/cachelens/cachelens v0.0.0\n\nreplace github.com/cachelens/cachelens => "+repo+"\n")
	write("app/go.sum", string(sum))
	write("app/app.go", `package app

import (
	"example.com/dep"

	"github.com/cachelens/cachelens/cacheruntime"
)

var load = cacheruntime.Func1(func(n int) []int { return []int{3, 1, 2} })

func Top(n int) int {
	xs := load(n)
	dep.Sort(xs)
	return xs[0]
}
`)
	goVersion := strings.TrimPrefix(strings.Fields(runtimeVersion(t))[0], "go")
	os.WriteFile(filepath.Join(root, "go.work"), []byte("go "+goVersion+"\n\nuse (\n\t./app\n\t./dep\n)\n"), 0o644)
	return root
}

func depSource(mutating bool) string {
	if mutating {
		return "package dep\n\nimport \"sort\"\n\n// Sort sorts xs in place.\nfunc Sort(xs []int) { sort.Ints(xs) }\n"
	}
	return "package dep\n\nimport \"sort\"\n\n// Sort sorts a copy of xs.\nfunc Sort(xs []int) { ys := append([]int(nil), xs...); sort.Ints(ys) }\n"
}

func runtimeVersion(t *testing.T) string {
	out, err := exec.Command("go", "env", "GOVERSION").Output()
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// TestCheckWorkspace: `check ./...` in one module of a go.work sees a
// finding that needs another module's facts (as `check .` does), and the
// result cache notices when that other module changes.
func TestCheckWorkspace(t *testing.T) {
	root := workspace(t, false)
	app := filepath.Join(root, "app")
	if out, errOut, code := cachelens(t, app, "check", "./..."); code != 0 {
		t.Fatalf("with a copying Sort: code %d\n%s%s", code, out, errOut)
	}
	os.WriteFile(filepath.Join(root, "dep", "dep.go"), []byte(depSource(true)), 0o644)
	for _, pattern := range []string{"./...", "."} {
		out, errOut, code := cachelens(t, app, "check", pattern)
		if code != 1 || !strings.Contains(out, "[mutated]") {
			t.Errorf("check %s after dep started mutating: code %d\n%s%s", pattern, code, out, errOut)
		}
	}
}

// TestCheckArguments: a .go file names its package; a -C directory that
// does not exist, a directory outside any module and a module that is not
// available are reported for what they are; a failed load is not cached.
func TestCheckArguments(t *testing.T) {
	dir := module(t, false)
	out, errOut, code := cachelens(t, filepath.Join(dir, "web"), "check", "web.go")
	if code != 1 || !strings.Contains(out, "web.go:") {
		t.Errorf("check web.go: code %d\n%s%s", code, out, errOut)
	}
	if _, errOut, code := cachelens(t, dir, "check", "-C", "/nonexistent", "./..."); code != 2 || !strings.Contains(errOut, "-C /nonexistent: not a directory") {
		t.Errorf("-C /nonexistent: code %d: %s", code, errOut)
	}
	noMod := t.TempDir()
	os.WriteFile(filepath.Join(noMod, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o644)
	if _, errOut, code := cachelens(t, noMod, "check", "./..."); code != 2 || !strings.Contains(errOut, "no Go module here") {
		t.Errorf("no module: code %d: %s", code, errOut)
	}
	missing := t.TempDir()
	os.WriteFile(filepath.Join(missing, "go.mod"), []byte("module example.com/m\n\ngo 1.26\n\nrequire example.com/missing v1.0.0\n"), 0o644)
	os.WriteFile(filepath.Join(missing, "m.go"), []byte("package m\n\nimport _ \"example.com/missing\"\n"), 0o644)
	_, errOut, code = cachelens(t, missing, "check", "./...")
	if code == 0 || !strings.Contains(errOut, "example.com/missing cannot be loaded") {
		t.Errorf("a missing module: code %d: %s", code, errOut)
	}
	// Whole runs are stored as <key>.json beside the per-package entries.
	runs, _ := filepath.Glob(filepath.Join(cacheHome(t), "cachelens", "check", "*.json"))
	if len(runs) != 1 {
		t.Errorf("the failed load was cached (%d runs stored; the web.go run is the one)", len(runs))
	}
}

// TestCheckFixSkipsGenerated: -fix never edits a generated file.
func TestCheckFixSkipsGenerated(t *testing.T) {
	dir := module(t, false)
	web := filepath.Join(dir, "web", "web.go")
	src, _ := os.ReadFile(web)
	gen := append([]byte("// Code generated by hand for a test. DO NOT EDIT.\n\n"), src...)
	os.WriteFile(web, gen, 0o644)
	_, errOut, _ := cachelens(t, dir, "check", "-fix")
	if after, _ := os.ReadFile(web); string(after) != string(gen) {
		t.Errorf("-fix edited a generated file:\n%s", errOut)
	}
	if !strings.Contains(errOut, "not applied (generated file)") {
		t.Errorf("stderr does not say so:\n%s", errOut)
	}
}
