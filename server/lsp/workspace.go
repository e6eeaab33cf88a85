package lsp

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"

	"github.com/cachelens/cachelens/server/internal/srcfile"
	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"
	"golang.org/x/mod/modfile"
)

func (s *Server) didChangeConfiguration(ctx context.Context, p *didChangeConfigurationParams) error {
	s.mu.Lock()
	settings := s.settings
	s.mu.Unlock()
	oldSocket := settings.Socket
	if len(p.Settings) > 0 && string(p.Settings) != "null" {
		if err := applySettings(&settings, p.Settings); err != nil {
			return err
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
	s.configureProduction(settings.Prometheus)
	s.refresh()
	s.republishAll()
	return nil
}

func (s *Server) didChangeWorkspaceFolders(ctx context.Context, p *protocol.DidChangeWorkspaceFoldersParams) error {
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
	return nil
}

func (s *Server) didChangeWatchedFiles(ctx context.Context, _ *protocol.DidChangeWatchedFilesParams) error {
	s.mu.Lock()
	ws := s.ws
	s.mu.Unlock()
	if ws != nil {
		ws.Reload()
	}
	return nil
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
