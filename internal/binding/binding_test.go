package binding

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBinding(t *testing.T) {
	dir := t.TempDir()
	src := `package main

var loadUser = cacheruntime.Func(load,
	cacheruntime.Persist())

var (
	a, b = 1, cacheruntime.Func(f)
)

type S struct{ users func() }

func (s *S) init() {
	s.users = cacheruntime.Func(g)
}

func main() {
	load := cacheruntime.Func(h)
	use(cacheruntime.Func(k))
}
`
	path := filepath.Join(dir, "main.go")
	os.WriteFile(path, []byte(src), 0o600)
	line := func(s string) int { return strings.Count(src[:strings.Index(src, s)], "\n") + 1 }
	for _, tc := range []struct {
		at   int
		want string
	}{
		{line("var loadUser"), "loadUser"},
		{line("cacheruntime.Persist()"), "loadUser"},
		{line("a, b ="), "b"},
		{line("s.users ="), "s.users"},
		{line("load := "), "main: load"},
		{line("use("), ""},
	} {
		if got := Of(path, tc.at); got != tc.want {
			t.Errorf("Of(line %d) = %q, want %q", tc.at, got, tc.want)
		}
	}
	if got := Of(filepath.Join(dir, "gone.go"), 1); got != "" {
		t.Errorf("a missing file binds %q", got)
	}
}
