package lsp

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/cachelens/cachelens/diagnostics"
	"github.com/cachelens/cachelens/server/internal/collector"
	"github.com/cachelens/cachelens/server/internal/document"
	"github.com/cachelens/cachelens/server/internal/workspace"
	"go.lsp.dev/protocol"
)

func (s *Server) initialize(ctx context.Context, p *initializeParams) (*initializeResult, error) {
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
	return &result, nil
}

func (s *Server) initialized(ctx context.Context) error {
	s.mu.Lock()
	roots := slices.Clone(s.roots)
	settings := s.settings
	s.mu.Unlock()
	s.startCollector(settings.Socket, roots)
	s.configureProduction(settings.Prometheus)
	ws := workspace.New(workspace.Config{
		Analyzers:  diagnostics.Analyzers(),
		Requires:   diagnostics.Requires(),
		OnFindings: s.onFindings,
		Progress:   &progress{s: s},
		Logf:       s.logf,
		Debounce:   s.opts.Debounce,
	})
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		ws.Close()
		return nil
	}
	s.ws = ws
	for path, d := range s.docs {
		ws.Change(path, d.Text)
	}
	s.mu.Unlock()
	ws.SetRoots(roots)
	changes, unsub := s.store.Subscribe(s.opts.RefreshEvery)
	s.mu.Lock()
	if s.stopped {
		// The connection ended (exit) while initialized ran: start
		// nothing that stopBackground would not stop.
		s.mu.Unlock()
		unsub()
		return nil
	}
	s.unsub = unsub
	s.bg.Add(1) // under s.mu: stopBackground sees unsub, or this sees stopped
	s.mu.Unlock()
	go func() {
		defer s.bg.Done()
		for range changes {
			s.runtimeChanged()
		}
	}()
	s.sendStatus()
	return nil
}

func (s *Server) shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.state = stateShutdown
	s.mu.Unlock()
	s.stopBackground()
	return nil
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
	if s.stopped {
		s.mu.Unlock()
		return
	}
	// stopBackground waits for this start (under s.mu: it sees the
	// collector, or this sees stopped and closes it): a server ended by a
	// signal while its collector was starting exited with the collector's
	// registration and socket left behind.
	s.bg.Add(1)
	defer s.bg.Done()
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
	if s.stopped {
		// The connection ended while the collector started.
		s.mu.Unlock()
		c.Close()
		return
	}
	s.coll = c
	s.mu.Unlock()
}

// Settings are what the client configures, through initializationOptions
// and workspace/didChangeConfiguration (under the "cachelens" key).
type Settings struct {
	CodeLenses bool   `json:"codeLenses"`
	InlayHints bool   `json:"inlayHints"`
	Socket     string `json:"socket"`
	// Diagnostics from running programs (hash errors, mutations, caches
	// that never hit), and from production (with Prometheus).
	RuntimeDiagnostics bool `json:"runtimeDiagnostics"`
	// Prometheus holds production metrics; ProductionLine shows them.
	Prometheus     PrometheusSettings `json:"prometheus"`
	ProductionLine bool               `json:"productionLine"`
}

func defaultSettings() Settings {
	return Settings{CodeLenses: true, InlayHints: true, RuntimeDiagnostics: true, ProductionLine: true}
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

// Commands the server executes.
const (
	CommandReset   = "cachelens.resetStats"
	CommandDetails = "cachelens.showDetails"
)
