package cacheruntime_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cachelens/cachelens/internal/testmodule"
)

const persistProgram = `package main

import (
	"fmt"
	"os"
	"strconv"

	"github.com/cachelens/cachelens/cacheruntime"
)

// Report is what the expensive function builds.
type Report struct {
	Total int
	Lines []string
}

func buildUncached(n int) Report {
	fmt.Fprintln(os.Stderr, "computing", n)
	r := Report{}
	for i := 0; i < n; i++ {
		r.Total += step(i)
	}
	r.Lines = []string{"total"}
	return r
}

func step(i int) int { return i * 2 }

var h cacheruntime.Handle

var build = cacheruntime.Func1(buildUncached, cacheruntime.Persist(), cacheruntime.WithHandle(&h))

func main() {
	n, _ := strconv.Atoi(os.Args[1])
	fmt.Println("total", build(n).Total)
	s := h.Stats()
	t := s.Tiers[0]
	fmt.Println("disk hits", t.Hits, "code changed", t.CodeChanged, "writes", t.Writes, "errors", t.Errors)
	for _, site := range s.Sites {
		for _, r := range site.Reasons {
			fmt.Println("reason", r.Reason.Kind)
		}
	}
}
`

// TestPersistRealBuilds builds a program, runs it, edits it and builds it
// again, as a user does: unchanged code reads what earlier runs stored;
// an edit to the function or to what it calls makes its entries misses
// (reason "code changed"); a comment does not; a binary older than its
// source does not read entries of the new code.
func TestPersistRealBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds programs")
	}
	dir := testmodule.New(t, "example.com/persist", map[string]string{"main.go": persistProgram})
	cacheDir := t.TempDir()
	build := func(name string, edits ...string) string {
		t.Helper()
		src := persistProgram
		for i := 0; i+1 < len(edits); i += 2 {
			if !strings.Contains(src, edits[i]) {
				t.Fatalf("no %q to edit", edits[i])
			}
			src = strings.Replace(src, edits[i], edits[i+1], 1)
		}
		// A source written after the last build (mtimes have coarse
		// clocks on some file systems).
		time.Sleep(20 * time.Millisecond)
		if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		bin := filepath.Join(dir, name)
		cmd := exec.Command("go", "build", "-o", bin, ".")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
		return bin
	}
	run := func(bin string, arg int) (stdout, stderr string) {
		t.Helper()
		cmd := exec.Command(bin, fmt.Sprint(arg))
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "CACHELENS_CACHE_DIR="+cacheDir, "CACHELENS=off")
		var out, errOut strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errOut
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s: %v\n%s%s", bin, err, out.String(), errOut.String())
		}
		return out.String(), errOut.String()
	}
	expect := func(what, out, errOut string, computed bool, lines ...string) {
		t.Helper()
		if strings.Contains(errOut, "computing") != computed {
			t.Errorf("%s: computed = %v, want %v\n%s%s", what, !computed, computed, out, errOut)
		}
		for _, l := range lines {
			if !strings.Contains(out, l) {
				t.Errorf("%s: no line %q in\n%s", what, l, out)
			}
		}
	}

	v1 := build("v1")
	out, errOut := run(v1, 10)
	expect("first run", out, errOut, true, "total 90", "disk hits 0 code changed 0 writes 1 errors 0", "reason first call")
	out, errOut = run(v1, 10)
	expect("second run", out, errOut, false, "total 90", "disk hits 1 code changed 0 writes 0 errors 0")

	v2 := build("v2", "// Report is what", "// Report, a comment edited, is what", "r.Lines = []string{\"total\"}", "r.Lines = []string{\n\t\t\"total\",\n\t}")
	out, errOut = run(v2, 10)
	expect("after editing comments and layout", out, errOut, false, "total 90", "disk hits 1 code changed 0 writes 0 errors 0")

	v3 := build("v3", "return i * 2", "return i * 3")
	out, errOut = run(v3, 10)
	expect("after editing a function it calls", out, errOut, true, "total 135", "disk hits 0 code changed 1 writes 1 errors 0", "reason code changed")
	out, errOut = run(v3, 10)
	expect("the edited code's second run", out, errOut, false, "total 135", "disk hits 1")

	// v1 is older than the source now: it must not read v3's entries.
	out, errOut = run(v1, 10)
	expect("the old binary", out, errOut, true, "total 90")
	out, errOut = run(v1, 10)
	expect("the old binary again", out, errOut, false, "total 90", "disk hits 1")

	v4 := build("v4", "fmt.Fprintln(os.Stderr, \"computing\", n)", "fmt.Fprintln(os.Stderr, \"computing\", n+0)")
	out, errOut = run(v4, 10)
	expect("after editing the function's body", out, errOut, true, "total 90", "code changed 1")

	// Many processes at once over the same directory: each answer is
	// right, whoever computed it.
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(v4, fmt.Sprint(i%4))
			cmd.Env = append(os.Environ(), "CACHELENS_CACHE_DIR="+cacheDir, "CACHELENS=off")
			b, err := cmd.Output()
			want := fmt.Sprintf("total %d\n", (i%4)*((i%4)-1))
			if err != nil || !strings.HasPrefix(string(b), want) || !strings.Contains(string(b), "errors 0") {
				errs <- fmt.Sprintf("process %d: %v: %s (want %q)", i, err, b, want)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
