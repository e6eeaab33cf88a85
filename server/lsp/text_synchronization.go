package lsp

import (
	"bytes"
	"context"

	"github.com/cachelens/cachelens/server/internal/document"
	"github.com/cachelens/cachelens/server/internal/srcfile"
	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
)

// Buffer implements annotate.Buffers.
func (s *Server) Buffer(path string) ([]byte, bool, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.docs[path]
	if !ok {
		return nil, false, false
	}
	return d.Text, d.dirty, true
}

func (s *Server) didOpen(ctx context.Context, p *protocol.DidOpenTextDocumentParams) error {
	path, err := filePath(string(p.TextDocument.URI))
	if err != nil {
		return nil // not a file: nothing to say about it
	}
	text := []byte(p.TextDocument.Text)
	disk, _ := srcfile.Read(path)
	s.ann.Files.Saw(path)
	s.mu.Lock()
	s.docs[path] = &doc{Document: document.New(string(p.TextDocument.URI), path, p.TextDocument.Version, text), dirty: !bytes.Equal(disk, text)}
	ws := s.ws
	s.mu.Unlock()
	if ws != nil {
		ws.Change(path, text)
	}
	s.publish([]string{path})
	return nil
}

func (s *Server) didChange(ctx context.Context, p *didChangeParams) error {
	path, err := filePath(p.TextDocument.URI)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	d, ok := s.docs[path]
	enc := s.enc
	s.mu.Unlock()
	if !ok {
		return jsonrpc2.Errorf(jsonrpc2.InvalidParams, "didChange for %s, which is not open", p.TextDocument.URI)
	}
	changes := make([]document.Change, len(p.ContentChanges))
	for i, c := range p.ContentChanges {
		changes[i].Text = c.Text
		if c.Range != nil {
			changes[i].Range = &document.Range{
				Start: document.Position{Line: c.Range.Start.Line, Character: c.Range.Start.Character},
				End:   document.Position{Line: c.Range.End.Line, Character: c.Range.End.Character},
			}
		}
	}
	nd, err := d.Apply(p.TextDocument.Version, changes, enc)
	if err != nil {
		// The buffers are out of step: keep the old text and say so.
		s.logMessage(1, "cachelens: cannot apply an edit to %s: %v", path, err)
		return jsonrpc2.Errorf(jsonrpc2.InvalidParams, "cannot apply the change: %v", err)
	}
	s.mu.Lock()
	s.docs[path] = &doc{Document: nd, dirty: true}
	ws := s.ws
	s.mu.Unlock()
	if ws != nil {
		ws.Change(path, nd.Text)
	}
	return nil
}

func (s *Server) didSave(ctx context.Context, p *protocol.DidSaveTextDocumentParams) error {
	path, err := filePath(string(p.TextDocument.URI))
	if err != nil {
		return nil
	}
	s.ann.Files.Saw(path)
	disk, _ := srcfile.Read(path) // not under s.mu: every handler takes it
	s.mu.Lock()
	if d, ok := s.docs[path]; ok {
		d.dirty = !bytes.Equal(disk, d.Text)
	}
	s.mu.Unlock()
	s.refresh()
	s.publish([]string{path})
	return nil
}

func (s *Server) didClose(ctx context.Context, p *protocol.DidCloseTextDocumentParams) error {
	path, err := filePath(string(p.TextDocument.URI))
	if err != nil {
		return nil
	}
	s.mu.Lock()
	delete(s.docs, path)
	delete(s.lensCache, string(p.TextDocument.URI))
	ws := s.ws
	s.mu.Unlock()
	s.ann.Forget(path)
	if ws != nil {
		ws.Closed(path)
	}
	return nil
}

// current returns the open document for a URI, or a document read from
// disk (version 0) for a file that is not open.
func (s *Server) current(u string) (*document.Document, error) {
	path, err := filePath(u)
	if err != nil {
		return nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "%v", err)
	}
	s.mu.Lock()
	d, ok := s.docs[path]
	s.mu.Unlock()
	if ok {
		return d.Document, nil
	}
	text, err := srcfile.Read(path)
	if err != nil {
		return nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "unknown document %s: %v", u, err)
	}
	return document.New(u, path, 0, text), nil
}
