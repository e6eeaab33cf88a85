package lsp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"time"

	"github.com/cachelens/cachelens/diagnostics"
	"github.com/cachelens/cachelens/server/collector"
	"github.com/cachelens/cachelens/server/document"
	"github.com/cachelens/cachelens/server/workspace"
	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"
	"golang.org/x/mod/modfile"

	"github.com/cachelens/cachelens/server/internal/srcfile"
)

// Settings are what the client configures, through initializationOptions
// and workspace/didChangeConfiguration (under the "cachelens" key).
type Settings struct {
	CodeLenses bool   `json:"codeLenses"`
	InlayHints bool   `json:"inlayHints"`
	Socket     string `json:"socket"`
	// Diagnostics from running programs (hash errors, mutations, caches
	// that never hit).
	RuntimeDiagnostics bool `json:"runtimeDiagnostics"`
}

func defaultSettings() Settings {
	return Settings{CodeLenses: true, InlayHints: true, RuntimeDiagnostics: true}
}

// clientCaps are the client capabilities the server acts on, read from the
// raw initialize params (go.lsp.dev/protocol 0.12 predates LSP 3.17).
type clientCaps struct {
	codeLensRefresh  bool
	inlayHintRefresh bool
	inlayHints       bool
	codeLenses       bool
	progress         bool
	related          bool
	versioned        bool
	documentChanges  bool
	configuration    bool
}

type initializeParams struct {
	ProcessID             *int            `json:"processId"`
	RootURI               string          `json:"rootUri"`
	RootPath              string          `json:"rootPath"`
	InitializationOptions json.RawMessage `json:"initializationOptions"`
	WorkspaceFolders      []struct {
		URI  string `json:"uri"`
		Name string `json:"name"`
	} `json:"workspaceFolders"`
	Capabilities struct {
		General struct {
			PositionEncodings []string `json:"positionEncodings"`
		} `json:"general"`
		Workspace struct {
			CodeLens struct {
				RefreshSupport bool `json:"refreshSupport"`
			} `json:"codeLens"`
			InlayHint struct {
				RefreshSupport bool `json:"refreshSupport"`
			} `json:"inlayHint"`
			WorkspaceEdit struct {
				DocumentChanges bool `json:"documentChanges"`
			} `json:"workspaceEdit"`
			Configuration bool `json:"configuration"`
		} `json:"workspace"`
		TextDocument struct {
			InlayHint          *json.RawMessage `json:"inlayHint"`
			CodeLens           *json.RawMessage `json:"codeLens"`
			PublishDiagnostics struct {
				RelatedInformation bool `json:"relatedInformation"`
				VersionSupport     bool `json:"versionSupport"`
			} `json:"publishDiagnostics"`
		} `json:"textDocument"`
		Window struct {
			WorkDoneProgress bool `json:"workDoneProgress"`
		} `json:"window"`
	} `json:"capabilities"`
}

// serverCapabilities adds what LSP 3.17 has and protocol 0.12 lacks.
type serverCapabilities struct {
	protocol.ServerCapabilities
	InlayHintProvider any    `json:"inlayHintProvider,omitempty"`
	PositionEncoding  string `json:"positionEncoding,omitempty"`
}

type initializeResult struct {
	Capabilities serverCapabilities   `json:"capabilities"`
	ServerInfo   *protocol.ServerInfo `json:"serverInfo,omitempty"`
}

// Commands the server executes.
const (
	CommandReset   = "cachelens.resetStats"
	CommandDetails = "cachelens.showDetails"
)

func (s *Server) initialize(ctx context.Context, params json.RawMessage) (any, error) {
	var p initializeParams
	if err := decode(params, &p); err != nil {
		return nil, err
	}
	c := p.Capabilities
	caps := clientCaps{
		codeLensRefresh:  c.Workspace.CodeLens.RefreshSupport,
		inlayHintRefresh: c.Workspace.InlayHint.RefreshSupport,
		inlayHints:       c.TextDocument.InlayHint != nil,
		codeLenses:       c.TextDocument.CodeLens != nil,
		progress:         c.Window.WorkDoneProgress,
		related:          c.TextDocument.PublishDiagnostics.RelatedInformation,
		versioned:        c.TextDocument.PublishDiagnostics.VersionSupport,
		documentChanges:  c.Workspace.WorkspaceEdit.DocumentChanges,
		configuration:    c.Workspace.Configuration,
	}
	enc, encName := document.UTF16, "utf-16"
	if slices.Contains(c.General.PositionEncodings, "utf-8") {
		enc, encName = document.UTF8, "utf-8"
	}
	settings := defaultSettings()
	if len(p.InitializationOptions) > 0 && string(p.InitializationOptions) != "null" {
		if err := applySettings(&settings, p.InitializationOptions); err != nil {
			return nil, err
		}
	}
	var roots []string
	for _, f := range p.WorkspaceFolders {
		if path, err := filePath(f.URI); err == nil {
			roots = append(roots, path)
		}
	}
	if len(roots) == 0 && p.RootURI != "" {
		if path, err := filePath(p.RootURI); err == nil {
			roots = append(roots, path)
		}
	}
	if len(roots) == 0 && p.RootPath != "" {
		roots = append(roots, p.RootPath)
	}
	s.mu.Lock()
	s.caps, s.enc, s.settings, s.roots, s.state = caps, enc, settings, roots, stateRunning
	s.mu.Unlock()

	result := initializeResult{ServerInfo: &protocol.ServerInfo{Name: "cachelens", Version: s.opts.Version}}
	sc := &result.Capabilities
	sc.PositionEncoding = encName
	sc.TextDocumentSync = &protocol.TextDocumentSyncOptions{
		OpenClose: true,
		Change:    protocol.TextDocumentSyncKindIncremental,
		Save:      &protocol.SaveOptions{},
	}
	sc.CodeLensProvider = &protocol.CodeLensOptions{ResolveProvider: true}
	sc.HoverProvider = true
	sc.CodeActionProvider = &protocol.CodeActionOptions{CodeActionKinds: []protocol.CodeActionKind{protocol.QuickFix}}
	sc.ExecuteCommandProvider = &protocol.ExecuteCommandOptions{Commands: []string{CommandReset, CommandDetails}}
	sc.InlayHintProvider = true
	sc.Workspace = &protocol.ServerCapabilitiesWorkspace{
		WorkspaceFolders: &protocol.ServerCapabilitiesWorkspaceFolders{Supported: true, ChangeNotifications: true},
	}
	return result, nil
}

// applySettings reads settings given flat or under a "cachelens" key.
func applySettings(s *Settings, raw json.RawMessage) error {
	var wrapped struct {
		Cachelens *json.RawMessage `json:"cachelens"`
	}
	if err := json.Unmarshal(raw, &wrapped); err != nil {
		return fmt.Errorf("settings: %w", err)
	}
	if wrapped.Cachelens != nil {
		raw = *wrapped.Cachelens
	}
	if err := json.Unmarshal(raw, s); err != nil {
		return fmt.Errorf("settings: %w", err)
	}
	return nil
}

func filePath(u string) (string, error) {
	if len(u) < 7 || u[:7] != "file://" {
		return "", fmt.Errorf("%q is not a file URI", u)
	}
	parsed, err := url.Parse(u)
	if err != nil {
		return "", fmt.Errorf("%q is not a valid file URI: %v", u, err)
	}
	if parsed.Path == "" {
		return "", fmt.Errorf("%q names no file", u)
	}
	return filepath.Clean(filepath.FromSlash(parsed.Path)), nil
}

func fileURI(path string) protocol.DocumentURI { return uri.File(path) }

func (s *Server) initialized(ctx context.Context, _ json.RawMessage) (any, error) {
	s.mu.Lock()
	roots := slices.Clone(s.roots)
	settings := s.settings
	s.mu.Unlock()
	s.startCollector(settings.Socket, roots)
	ws := workspace.New(workspace.Config{
		Analyzers:  diagnostics.Analyzers(),
		Requires:   diagnostics.Requires(),
		OnFindings: s.onFindings,
		Progress:   &progress{s: s},
		Logf:       s.logf,
		Debounce:   s.opts.Debounce,
	})
	s.mu.Lock()
	s.ws = ws
	for path, d := range s.docs {
		ws.Change(path, d.Text)
	}
	s.mu.Unlock()
	ws.SetRoots(roots)
	changes, unsub := s.store.Subscribe(s.opts.RefreshEvery)
	s.mu.Lock()
	s.unsub = unsub
	s.mu.Unlock()
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		for range changes {
			s.runtimeChanged()
		}
	}()
	s.sendStatus()
	return nil, nil
}

// startCollector listens for reporting programs (again, on a new socket).
func (s *Server) startCollector(socket string, roots []string) {
	if socket == "" {
		socket = s.opts.Socket
	}
	if socket == "" {
		socket = envSocket()
	}
	s.mu.Lock()
	old := s.coll
	s.coll = nil
	s.mu.Unlock()
	if old != nil {
		old.Close()
	}
	c, err := collector.Listen(collector.Config{Socket: socket, Dir: s.opts.RuntimeDir, Runs: s.opts.RunsDir, Roots: roots, Store: s.store, Logf: s.logf,
		Modules: func() map[string]string {
			s.mu.Lock()
			roots := slices.Clone(s.roots)
			s.mu.Unlock()
			return workspaceModules(roots)
		}})
	if err != nil {
		s.logMessage(2, "cachelens: cannot receive reports from programs: %v", err)
		return
	}
	s.logf("listening for programs on %s", c.Socket())
	if n := c.Note(); n != "" {
		s.logMessage(2, "cachelens: %s", n)
	}
	s.mu.Lock()
	s.coll = c
	s.mu.Unlock()
}

func (s *Server) didChangeConfiguration(ctx context.Context, params json.RawMessage) (any, error) {
	var p struct {
		Settings json.RawMessage `json:"settings"`
	}
	if err := decode(params, &p); err != nil {
		return nil, err
	}
	s.mu.Lock()
	settings := s.settings
	s.mu.Unlock()
	oldSocket := settings.Socket
	if len(p.Settings) > 0 && string(p.Settings) != "null" {
		if err := applySettings(&settings, p.Settings); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	s.settings = settings
	roots := slices.Clone(s.roots)
	s.mu.Unlock()
	if settings.Socket != oldSocket {
		s.startCollector(settings.Socket, roots)
		s.sendStatus()
	}
	s.refresh()
	s.republishAll()
	return nil, nil
}

func (s *Server) didChangeWorkspaceFolders(ctx context.Context, params json.RawMessage) (any, error) {
	var p struct {
		Event struct {
			Added, Removed []struct {
				URI string `json:"uri"`
			}
		} `json:"event"`
	}
	if err := decode(params, &p); err != nil {
		return nil, err
	}
	s.mu.Lock()
	for _, r := range p.Event.Removed {
		if path, err := filePath(r.URI); err == nil {
			s.roots = slices.DeleteFunc(s.roots, func(x string) bool { return x == path })
		}
	}
	for _, a := range p.Event.Added {
		if path, err := filePath(a.URI); err == nil && !slices.Contains(s.roots, path) {
			s.roots = append(s.roots, path)
		}
	}
	roots := slices.Clone(s.roots)
	ws, coll := s.ws, s.coll
	s.mu.Unlock()
	if coll != nil {
		if err := coll.SetRoots(roots); err != nil {
			s.logf("registering roots: %v", err)
		}
	}
	if ws != nil {
		ws.SetRoots(roots)
	}
	return nil, nil
}

func (s *Server) didChangeWatchedFiles(ctx context.Context, params json.RawMessage) (any, error) {
	s.mu.Lock()
	ws := s.ws
	s.mu.Unlock()
	if ws != nil {
		ws.Reload()
	}
	return nil, nil
}

// progress reports workspace loads with $/progress, when the client
// supports it.
type progress struct {
	s     *Server
	token string
	ok    chan bool
}

func (p *progress) Begin(title, message string) {
	p.s.mu.Lock()
	supported := p.s.caps.progress
	p.s.progressN++
	p.token = fmt.Sprintf("cachelens-load-%d", p.s.progressN)
	p.s.mu.Unlock()
	if !supported {
		p.token = ""
		return
	}
	p.ok = make(chan bool, 1)
	p.s.callClient("window/workDoneProgress/create", map[string]any{"token": p.token}, func(err error) { p.ok <- err == nil })
	// The token may be used once the client has answered (briefly wait).
	select {
	case ok := <-p.ok:
		if !ok {
			p.token = ""
			return
		}
	case <-time.After(2 * time.Second):
		p.token = ""
		return
	}
	p.s.notify("$/progress", map[string]any{"token": p.token, "value": map[string]any{"kind": "begin", "title": title, "message": message, "percentage": 0}})
}

func (p *progress) Report(message string, percent int) {
	if p.token != "" {
		p.s.notify("$/progress", map[string]any{"token": p.token, "value": map[string]any{"kind": "report", "message": message, "percentage": percent}})
	}
}

func (p *progress) End(message string) {
	if p.token != "" {
		p.s.notify("$/progress", map[string]any{"token": p.token, "value": map[string]any{"kind": "end", "message": message}})
	}
}

// workspaceModules returns the modules of the workspace roots (module path
// → directory): each root's go.mod and the modules its go.work uses, so
// that the module-relative paths of programs built with -trimpath can be
// placed.
func workspaceModules(roots []string) map[string]string {
	mods := map[string]string{}
	add := func(dir string) {
		data, err := srcfile.Read(filepath.Join(dir, "go.mod"))
		if err != nil {
			return
		}
		if p := modfile.ModulePath(data); p != "" {
			mods[p] = dir
		}
	}
	for _, root := range roots {
		add(root)
		data, err := srcfile.Read(filepath.Join(root, "go.work"))
		if err != nil {
			continue
		}
		if wf, err := modfile.ParseWork("go.work", data, nil); err == nil {
			for _, u := range wf.Use {
				add(filepath.Join(root, filepath.FromSlash(u.Path)))
			}
		}
	}
	return mods
}
