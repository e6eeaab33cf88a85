// Package editors checks the configuration snippets for editors that have
// no plugin of their own (Helix, Sublime Text): each parses, starts the
// server the way the docs say, and sets only settings the server reads.
package editors

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"slices"
	"testing"

	"github.com/cachelens/cachelens/server/lsp"
)

// checkSettings decodes raw into the server's settings, refusing keys the
// server does not know (a typo would otherwise be ignored silently).
func checkSettings(t *testing.T, where string, raw json.RawMessage) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var s lsp.Settings
	if err := dec.Decode(&s); err != nil {
		t.Errorf("%s: %v", where, err)
	}
	if !s.CodeLenses || !s.InlayHints || !s.RuntimeDiagnostics {
		t.Errorf("%s: the snippet should turn everything on: %+v", where, s)
	}
}

// Helix's feature names (helix-lsp's LanguageServerFeature, kebab-case).
var helixFeatures = []string{"format", "goto-declaration", "goto-definition", "goto-type-definition",
	"goto-reference", "goto-implementation", "signature-help", "hover", "document-highlight", "completion",
	"code-action", "workspace-command", "document-symbols", "workspace-symbols", "diagnostics",
	"rename-symbol", "inlay-hints"}

func TestHelix(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 (3.11+, for tomllib) is needed to parse TOML")
	}
	// tomllib turns the file into JSON.
	out, err := exec.Command(python, "-c", "import json,sys,tomllib; print(json.dumps(tomllib.load(open(sys.argv[1],'rb'))))", "helix/languages.toml").CombinedOutput()
	if err != nil {
		t.Fatalf("helix/languages.toml: %v\n%s", err, out)
	}
	var cfg struct {
		LanguageServer map[string]struct {
			Command string
			Args    []string
			Config  json.RawMessage
		} `json:"language-server"`
		Language []struct {
			Name            string
			LanguageServers []json.RawMessage `json:"language-servers"`
		}
	}
	if err := json.Unmarshal(out, &cfg); err != nil {
		t.Fatal(err)
	}
	ls, ok := cfg.LanguageServer["cachelens"]
	if !ok || ls.Command != "cachelens" || !slices.Equal(ls.Args, []string{"serve"}) {
		t.Errorf("language-server.cachelens: %+v", ls)
	}
	checkSettings(t, "language-server.cachelens.config", ls.Config)
	if len(cfg.Language) != 1 || cfg.Language[0].Name != "go" {
		t.Fatalf("languages: %+v", cfg.Language)
	}
	servers := cfg.Language[0].LanguageServers
	if len(servers) != 2 || string(servers[0]) != `"gopls"` {
		t.Fatalf("go's servers: gopls first, then cachelens: %s", servers)
	}
	var ours struct {
		Name         string
		OnlyFeatures []string `json:"only-features"`
	}
	if err := json.Unmarshal(servers[1], &ours); err != nil || ours.Name != "cachelens" {
		t.Fatalf("second server: %s (%v)", servers[1], err)
	}
	for _, f := range ours.OnlyFeatures {
		if !slices.Contains(helixFeatures, f) {
			t.Errorf("only-features: %q is not a Helix feature", f)
		}
	}
	// Hover and formatting stay with gopls; diagnostics and fixes are ours.
	for _, f := range []string{"diagnostics", "code-action", "inlay-hints"} {
		if !slices.Contains(ours.OnlyFeatures, f) {
			t.Errorf("only-features lacks %q", f)
		}
	}
	for _, f := range []string{"hover", "format", "completion"} {
		if slices.Contains(ours.OnlyFeatures, f) {
			t.Errorf("only-features takes %q from gopls", f)
		}
	}
}

func TestSublime(t *testing.T) {
	data, err := os.ReadFile("sublime/LSP.sublime-settings")
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		ShowInlayHints bool   `json:"show_inlay_hints"`
		ShowCodeLens   string `json:"show_code_lens"`
		Clients        map[string]struct {
			Enabled               bool
			Command               []string
			Selector              string
			InitializationOptions json.RawMessage
		}
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		t.Fatalf("LSP.sublime-settings: %v", err)
	}
	c, ok := cfg.Clients["cachelens"]
	if !ok || !c.Enabled || !slices.Equal(c.Command, []string{"cachelens", "serve"}) || c.Selector != "source.go" {
		t.Errorf("clients.cachelens: %+v", c)
	}
	checkSettings(t, "clients.cachelens.initializationOptions", c.InitializationOptions)
	if !cfg.ShowInlayHints || (cfg.ShowCodeLens != "phantom" && cfg.ShowCodeLens != "annotation") {
		t.Errorf("inlay hints %v, code lenses %q", cfg.ShowInlayHints, cfg.ShowCodeLens)
	}
}
