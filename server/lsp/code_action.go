package lsp

import (
	"context"
	"fmt"
	"slices"

	"github.com/cachelens/cachelens/codeactions"
	"github.com/cachelens/cachelens/server/internal/document"
	"github.com/cachelens/cachelens/server/internal/srcfile"
	"go.lsp.dev/protocol"
)

func (s *Server) codeAction(ctx context.Context, p *codeActionParams) ([]codeAction, error) {
	out := []codeAction{}
	if len(p.Context.Only) > 0 && !slices.Contains(p.Context.Only, protocol.QuickFix) {
		return out, nil
	}
	d, err := s.current(p.TextDocument.URI)
	if err != nil {
		return nil, err
	}
	enc := s.encoding()
	start, end, err := offsetsOf(d, p.Range, enc)
	if err != nil {
		return nil, err
	}
	// Static fixes, from the findings of the version they were computed
	// on (the edit carries that version, so a stale one is refused).
	s.mu.Lock()
	f := s.findings
	s.mu.Unlock()
	if f != nil {
		text := f.Texts[d.Path]
		if text == nil {
			text = d.Text
		}
		v, _ := s.versionOf(d.Path, text)
		adoc := document.New(d.URI, d.Path, v, text)
		for _, fd := range f.ByFile[d.Path] {
			if fd.Pos.Offset > end || fd.End.Offset < start {
				continue
			}
			diag := s.staticDiagnostic(adoc, fd)
			read := func(name string) ([]byte, error) {
				if name == d.Path {
					return text, nil
				}
				return s.readFile(name)
			}
			for i, fix := range fd.Fixes {
				edits, err := codeactions.NormalizeFix(read, fix.Edits)
				if err != nil {
					s.logf("fix %q: %v", fix.Message, err)
					continue
				}
				edit, err := s.workspaceEdit(edits, map[string]*document.Document{d.Path: adoc})
				if err != nil {
					s.logf("fix %q: %v", fix.Message, err)
					continue
				}
				out = append(out, codeAction{Title: fix.Message, Kind: protocol.QuickFix, Diagnostics: []lspDiagnostic{diag}, IsPreferred: i == 0, Edit: edit})
			}
		}
	}
	// Fixes for what running programs found.
	pl := s.ann.Place(s.store.Snapshot(), d.Path)
	cur := s.placementDoc(pl, d)
	for _, a := range pl.RuntimeActions(start, end) {
		edits, err := codeactions.NormalizeFix(func(name string) ([]byte, error) {
			if name == d.Path {
				return cur.Text, nil
			}
			return s.readFile(name)
		}, a.Edits)
		if err != nil {
			continue
		}
		edit, err := s.workspaceEdit(edits, map[string]*document.Document{d.Path: cur})
		if err != nil {
			continue
		}
		var diags []lspDiagnostic
		for _, rd := range pl.RuntimeDiagnostics() {
			if rd.Code == a.Code && rd.Start <= end && start <= rd.End {
				diags = append(diags, s.runtimeDiagnostic(cur, rd))
			}
		}
		out = append(out, codeAction{Title: a.Title, Kind: protocol.QuickFix, Diagnostics: diags, Edit: edit})
	}
	return out, nil
}

// workspaceEdit converts byte edits into a versioned workspace edit.
// docs gives the text edits of a file refer to; other files are read
// from their open buffer or the disk.
func (s *Server) workspaceEdit(edits []codeactions.Edit, docs map[string]*document.Document) (*workspaceEdit, error) {
	enc := s.encoding()
	byFile := map[string][]codeactions.Edit{}
	var order []string
	for _, e := range edits {
		if _, ok := byFile[e.File]; !ok {
			order = append(order, e.File)
		}
		byFile[e.File] = append(byFile[e.File], e)
	}
	we := &workspaceEdit{}
	for _, file := range order {
		d := docs[file]
		var version *int32
		if d == nil {
			s.mu.Lock()
			od, open := s.docs[file]
			s.mu.Unlock()
			if open {
				d = od.Document
			} else {
				text, err := srcfile.Read(file)
				if err != nil {
					return nil, err
				}
				d = document.New(string(fileURI(file)), file, 0, text)
			}
		}
		s.mu.Lock()
		if od, open := s.docs[file]; open {
			// The version the edit was computed on: the client refuses
			// the edit if the buffer has moved on.
			v := d.Version
			if d.Version == 0 {
				v = od.Version
			}
			version = &v
		}
		s.mu.Unlock()
		tde := textDocumentEdit{Edits: []textEdit{}}
		tde.TextDocument.URI = string(fileURI(file))
		tde.TextDocument.Version = version
		for _, e := range byFile[file] {
			if e.End > len(d.Text) {
				return nil, fmt.Errorf("edit past the end of %s", file)
			}
			tde.Edits = append(tde.Edits, textEdit{Range: toRange(d, e.Start, e.End, enc), NewText: e.New})
		}
		we.DocumentChanges = append(we.DocumentChanges, tde)
	}
	if !s.clientCaps().documentChanges {
		// The client takes only a map of edits per document (no
		// versions): Neovim 0.7, for one.
		we.Changes = map[string][]textEdit{}
		for _, dc := range we.DocumentChanges {
			we.Changes[dc.TextDocument.URI] = append(we.Changes[dc.TextDocument.URI], dc.Edits...)
		}
		we.DocumentChanges = nil
	}
	return we, nil
}

// readFile reads a file as the editor has it (open buffer) or from disk.
func (s *Server) readFile(name string) ([]byte, error) {
	s.mu.Lock()
	d, ok := s.docs[name]
	s.mu.Unlock()
	if ok {
		return d.Text, nil
	}
	return srcfile.Read(name)
}
