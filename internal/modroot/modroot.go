// Package modroot finds the Go module that holds a directory, by its
// go.mod: for cacheruntime (a -trimpath build's module directory; the
// module a cached function's code fingerprint reaches into) and the
// metrics' module-relative file labels.
package modroot

import (
	"os"
	"path/filepath"
	"strings"
)

// Find returns the directory and path of the module holding dir: the
// nearest go.mod at or above it ("" and "" if there is none; the path is
// "" if that go.mod names no module).
func Find(dir string) (root, path string) {
	for d := dir; ; {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil {
			for _, l := range strings.Split(string(b), "\n") {
				if f := strings.Fields(l); len(f) >= 2 && f[0] == "module" {
					return d, strings.Trim(f[1], `"`)
				}
			}
			return d, ""
		}
		up := filepath.Dir(d)
		if up == d {
			return "", ""
		}
		d = up
	}
}

// Of returns the directory of module mod if dir is in it, else "".
func Of(dir, mod string) string {
	if root, path := Find(dir); path == mod {
		return root
	}
	return ""
}
