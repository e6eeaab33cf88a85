// Package nvim tests the Neovim plugin in a real, headless Neovim.
package nvim

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

type result struct {
	Error       string
	Steps       []string
	Filetype    string
	Nvim        string
	Diagnostics []struct {
		Code, Message, Source string
		Line                  int
	}
	Offered []string
	Program string
	Lenses  []struct {
		Line  int
		Title string
	}
	Status string
}

func TestNeovim(t *testing.T) {
	nvim, err := exec.LookPath("nvim")
	if err != nil {
		if os.Getenv("CACHELENS_REQUIRE_NVIM") != "" {
			t.Fatal("nvim is not installed (test.sh installs Debian's neovim)")
		}
		t.Skip("nvim is not installed; ./test.sh installs it")
	}
	root, _ := filepath.Abs("../..")
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "cachelens")
	if out, err := exec.Command("go", "build", "-o", bin, filepath.Join(root, "cmd", "cachelens")).CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	// The example in a module of its own.
	mod := filepath.Join(tmp, "catalog")
	os.MkdirAll(mod, 0o755)
	src, _ := os.ReadFile(filepath.Join(root, "testdata", "catalog", "main.go"))
	os.WriteFile(filepath.Join(mod, "main.go"), src, 0o644)
	os.WriteFile(filepath.Join(mod, "go.mod"), []byte("module example.com/catalog\n\ngo 1.26\n\nrequire github.com/cachelens/cachelens v0.0.0\n\nreplace github.com/cachelens/cachelens => "+root+"\n"), 0o644)
	sum, _ := os.ReadFile(filepath.Join(root, "go.sum"))
	os.WriteFile(filepath.Join(mod, "go.sum"), sum, 0o644)
	tidy := exec.Command("go", "mod", "tidy")
	tidy.Dir = mod
	if out, err := tidy.CombinedOutput(); err != nil {
		t.Fatalf("tidy: %v\n%s", err, out)
	}
	rt, _ := os.MkdirTemp("", "nvrt")
	os.Chmod(rt, 0o700)
	defer os.RemoveAll(rt)
	resultFile := filepath.Join(tmp, "result.json")
	logFile := filepath.Join(tmp, "server.log")
	cmd := exec.Command(nvim, "--headless", "-n", "-i", "NONE", "-u", filepath.Join(root, "editors", "nvim", "test", "e2e.lua"))
	cmd.Dir = mod
	home := filepath.Join(tmp, "home")
	os.MkdirAll(home, 0o755)
	cmd.Env = append(os.Environ(),
		"XDG_RUNTIME_DIR="+rt, "XDG_CONFIG_HOME="+filepath.Join(home, "config"), "XDG_DATA_HOME="+filepath.Join(home, "data"),
		"XDG_STATE_HOME="+filepath.Join(home, "state"),
		"CACHELENS_PLUGIN="+filepath.Join(root, "editors", "nvim"), "CACHELENS_BIN="+bin, "CACHELENS_LOG="+logFile,
		"CACHELENS_MAIN="+filepath.Join(mod, "main.go"), "CACHELENS_RESULT="+resultFile)
	done := make(chan error, 1)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Logf("nvim: %v\n%s", err, out.String())
		}
	case <-time.After(5 * time.Minute):
		cmd.Process.Kill()
		t.Fatalf("nvim did not finish\n%s", out.String())
	}
	data, err := os.ReadFile(resultFile)
	if err != nil {
		log, _ := os.ReadFile(logFile)
		t.Fatalf("no result: %v\nnvim output:\n%s\nserver log:\n%s", err, out.String(), log)
	}
	var r result
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatalf("%v: %s", err, data)
	}
	if r.Error != "" {
		log, _ := os.ReadFile(logFile)
		t.Fatalf("%s (steps done: %v)\nresult: %s\nserver log:\n%s", r.Error, r.Steps, data, log)
	}
	t.Logf("Neovim %s: steps %v", r.Nvim, r.Steps)
	if r.Filetype != "go" {
		t.Errorf("filetype %q", r.Filetype)
	}
	for _, d := range r.Diagnostics {
		if d.Source != "cachelens" {
			t.Errorf("diagnostic source %q", d.Source)
		}
	}
	// The lens counts are what the program printed.
	cacheRE := regexp.MustCompile(`(?m)^(\S+)\s+(\d+) hits\s+(\d+) misses\s+(\d+) uncached\s+\((\d+)% hit rate`)
	matches := cacheRE.FindAllStringSubmatch(r.Program, -1)
	if len(matches) != 3 {
		t.Fatalf("program output:\n%s", r.Program)
	}
	for _, m := range matches {
		h, _ := strconv.Atoi(m[2])
		mi, _ := strconv.Atoi(m[3])
		want := fmt.Sprintf("cache · %d %s · %d %s (%s%%)", h, plural(h, "hit", "hits"), mi, plural(mi, "miss", "misses"), m[5])
		found := false
		for _, l := range r.Lenses {
			if strings.HasPrefix(l.Title, want) {
				found = true
			}
		}
		if !found {
			t.Errorf("no lens %q among %+v", want, r.Lenses)
		}
	}
	if !strings.HasPrefix(r.Status, "cachelens: ") {
		t.Errorf("status line %q", r.Status)
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
