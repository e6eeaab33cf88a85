package lsp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/cachelens/cachelens/codeactions"
	"github.com/cachelens/cachelens/server/annotate"
	"github.com/cachelens/cachelens/server/document"
	"github.com/cachelens/cachelens/server/store"
	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"

	"github.com/cachelens/cachelens/server/internal/srcfile"
)

type position struct {
	Line      int `json:"line"`
	Character int `json:"character"`
}

type lspRange struct {
	Start position `json:"start"`
	End   position `json:"end"`
}

func toRange(d *document.Document, start, end int, enc document.Encoding) lspRange {
	s, e := d.Position(start, enc), d.Position(end, enc)
	return lspRange{position{s.Line, s.Character}, position{e.Line, e.Character}}
}

func (s *Server) encoding() document.Encoding {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.enc
}

func (s *Server) currentSettings() Settings {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.settings
}

func (s *Server) clientCaps() clientCaps {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.caps
}

// offsetOf converts a position, answering out-of-range positions with an
// InvalidParams error.
func offsetOf(d *document.Document, p position, enc document.Encoding) (int, error) {
	off, err := d.Offset(document.Position{Line: p.Line, Character: p.Character}, enc)
	if err != nil {
		if errors.Is(err, document.ErrPosition) {
			return 0, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "%v", err)
		}
		return 0, err
	}
	return off, nil
}

// offsetsOf converts a range. Its start must lie in the document; an end
// past the end means "to the end", as clients send for a whole file.
func offsetsOf(d *document.Document, r lspRange, enc document.Encoding) (start, end int, err error) {
	if start, err = offsetOf(d, r.Start, enc); err != nil {
		return 0, 0, err
	}
	end, err = d.Offset(document.Position{Line: r.End.Line, Character: r.End.Character}, enc)
	if err != nil {
		end = len(d.Text)
	}
	return start, end, nil
}

type codeLens struct {
	Range   lspRange          `json:"range"`
	Command *protocol.Command `json:"command,omitempty"`
	Data    *lensData         `json:"data,omitempty"`
}

// lensData is what an unresolved lens carries: an id for the cached
// function it annotates (ids are stable per definition, so the table
// stays as small as the number of definitions).
type lensData struct {
	ID int `json:"id"`
}

// codeLens returns a lens for each cached function that has been called,
// without its title: editors resolve the lenses they show
// (codeLens/resolve), so a file with hundreds of cached functions costs
// little to annotate.
func (s *Server) codeLens(ctx context.Context, params json.RawMessage) (any, error) {
	var p struct {
		TextDocument textDocumentID `json:"textDocument"`
	}
	if err := decode(params, &p); err != nil {
		return nil, err
	}
	out := []codeLens{}
	if !s.currentSettings().CodeLenses {
		return out, nil
	}
	d, err := s.current(p.TextDocument.URI)
	if err != nil {
		return nil, err
	}
	pl := s.ann.Place(s.store.Snapshot(), d.Path)
	enc := s.encoding()
	// The encoded answer is kept with the placement it came from (which
	// changes whenever the buffer or the reports do).
	s.mu.Lock()
	cached, ok := s.lensCache[p.TextDocument.URI]
	s.mu.Unlock()
	if ok && cached.pl == pl && cached.enc == enc {
		return cached.lenses, nil
	}
	cur := s.placementDoc(pl, d)
	lenses := pl.Lenses()
	s.mu.Lock()
	for _, l := range lenses {
		pos := cur.Position(l.Offset, enc)
		r := lspRange{position{pos.Line, 0}, position{pos.Line, 0}}
		out = append(out, codeLens{Range: r, Data: &lensData{ID: s.lensIDLocked(l.Def)}})
	}
	if len(s.lensCache) >= 64 {
		clear(s.lensCache)
	}
	s.lensCache[p.TextDocument.URI] = lensAnswer{pl: pl, enc: enc, lenses: out}
	s.mu.Unlock()
	return out, nil
}

// lensAnswer is a codeLens reply kept, per document (only the last: a
// placement holds its text), for the placement it came from. It
// is kept as values, not as encoded JSON: jsonrpc2 would re-validate and
// copy a json.RawMessage, which costs more than encoding the values.
type lensAnswer struct {
	pl     *annotate.Placement
	enc    document.Encoding
	lenses []codeLens
}

// lensIDLocked returns the id of a definition for lens data; s.mu is held.
func (s *Server) lensIDLocked(k store.DefKey) int {
	if id, ok := s.lensIDs[k]; ok {
		return id
	}
	id := len(s.lensDefs)
	s.lensIDs[k] = id
	s.lensDefs = append(s.lensDefs, k)
	return id
}

func (s *Server) resolveCodeLens(ctx context.Context, params json.RawMessage) (any, error) {
	var l codeLens
	if err := decode(params, &l); err != nil {
		return nil, err
	}
	if l.Data == nil {
		return l, nil // already resolved
	}
	s.mu.Lock()
	var key store.DefKey
	ok := l.Data.ID >= 0 && l.Data.ID < len(s.lensDefs)
	if ok {
		key = s.lensDefs[l.Data.ID]
	}
	s.mu.Unlock()
	if !ok {
		return nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "unknown code lens %d", l.Data.ID)
	}
	snap := s.store.Snapshot()
	title := "cache · no longer reported"
	if def := snap.Def(key.File, key.Line); def != nil {
		stale := true
		for _, pd := range s.ann.Place(snap, key.File).Defs {
			if pd.Def == def {
				stale = pd.Stale
			}
		}
		title = annotate.LensTitle(def, stale)
	}
	l.Command = &protocol.Command{Title: title, Command: CommandDetails, Arguments: []any{key.File, key.Line}}
	return l, nil
}

// placementDoc returns the document the placement's offsets refer to.
func (s *Server) placementDoc(pl *annotate.Placement, d *document.Document) *document.Document {
	if string(pl.Text) == string(d.Text) {
		return d
	}
	return document.New(d.URI, d.Path, d.Version, pl.Text)
}

// inlayHint is LSP 3.17's InlayHint (protocol 0.12 has none).
type inlayHint struct {
	Position    position `json:"position"`
	Label       string   `json:"label"`
	Tooltip     string   `json:"tooltip,omitempty"`
	PaddingLeft bool     `json:"paddingLeft,omitempty"`
}

func (s *Server) inlayHint(ctx context.Context, params json.RawMessage) (any, error) {
	var p struct {
		TextDocument textDocumentID `json:"textDocument"`
		Range        lspRange       `json:"range"`
	}
	if err := decode(params, &p); err != nil {
		return nil, err
	}
	out := []inlayHint{}
	settings := s.currentSettings()
	if !settings.InlayHints {
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
	pl := s.ann.Place(s.store.Snapshot(), d.Path)
	cur := s.placementDoc(pl, d)
	hints := pl.Hints(start, end)
	if !s.clientCaps().codeLenses && settings.CodeLenses {
		// The client shows no code lenses: the headline goes at the end
		// of the definition's line instead.
		hints = append(hints, pl.DefHints(start, end)...)
		slices.SortStableFunc(hints, func(a, b annotate.Hint) int { return a.Offset - b.Offset })
	}
	for _, h := range hints {
		pos := cur.Position(h.Offset, enc)
		out = append(out, inlayHint{Position: position{pos.Line, pos.Character}, Label: h.Label, Tooltip: h.Tooltip, PaddingLeft: true})
	}
	return out, nil
}

type hoverResult struct {
	Contents protocol.MarkupContent `json:"contents"`
	Range    *lspRange              `json:"range,omitempty"`
}

func (s *Server) hover(ctx context.Context, params json.RawMessage) (any, error) {
	var p struct {
		TextDocument textDocumentID `json:"textDocument"`
		Position     position       `json:"position"`
	}
	if err := decode(params, &p); err != nil {
		return nil, err
	}
	d, err := s.current(p.TextDocument.URI)
	if err != nil {
		return nil, err
	}
	enc := s.encoding()
	off, err := offsetOf(d, p.Position, enc)
	if err != nil {
		return nil, err
	}
	snap := s.store.Snapshot()
	pl := s.ann.Place(snap, d.Path)
	cur := s.placementDoc(pl, d)
	md, start, end, ok := pl.Hover(snap, off)
	if !ok {
		return nil, nil
	}
	r := toRange(cur, start, end, enc)
	return hoverResult{Contents: protocol.MarkupContent{Kind: protocol.Markdown, Value: md}, Range: &r}, nil
}

type codeActionParams struct {
	TextDocument textDocumentID `json:"textDocument"`
	Range        lspRange       `json:"range"`
	Context      struct {
		Diagnostics []json.RawMessage         `json:"diagnostics"`
		Only        []protocol.CodeActionKind `json:"only"`
	} `json:"context"`
}

type textEdit struct {
	Range   lspRange `json:"range"`
	NewText string   `json:"newText"`
}

type textDocumentEdit struct {
	TextDocument struct {
		URI     string `json:"uri"`
		Version *int32 `json:"version"`
	} `json:"textDocument"`
	Edits []textEdit `json:"edits"`
}

type workspaceEdit struct {
	DocumentChanges []textDocumentEdit    `json:"documentChanges,omitempty"`
	Changes         map[string][]textEdit `json:"changes,omitempty"`
}

type codeAction struct {
	Title       string                  `json:"title"`
	Kind        protocol.CodeActionKind `json:"kind"`
	Diagnostics []lspDiagnostic         `json:"diagnostics,omitempty"`
	IsPreferred bool                    `json:"isPreferred,omitempty"`
	Edit        *workspaceEdit          `json:"edit,omitempty"`
}

func (s *Server) codeAction(ctx context.Context, params json.RawMessage) (any, error) {
	var p codeActionParams
	if err := decode(params, &p); err != nil {
		return nil, err
	}
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

func (s *Server) executeCommand(ctx context.Context, params json.RawMessage) (any, error) {
	var p struct {
		Command   string            `json:"command"`
		Arguments []json.RawMessage `json:"arguments"`
	}
	if err := decode(params, &p); err != nil {
		return nil, err
	}
	switch p.Command {
	case CommandReset:
		s.store.Reset()
		s.refresh()
		return nil, nil
	case CommandDetails:
		var file string
		var line int
		if len(p.Arguments) != 2 || json.Unmarshal(p.Arguments[0], &file) != nil || json.Unmarshal(p.Arguments[1], &line) != nil {
			return nil, jsonrpc2.NewError(jsonrpc2.InvalidParams, "cachelens.showDetails wants [file, line]")
		}
		snap := s.store.Snapshot()
		def := snap.Def(file, line)
		if def == nil {
			return nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "no cached function reported at %s:%d", file, line)
		}
		pl := s.ann.Place(snap, file)
		for _, pd := range pl.Defs {
			if pd.Def == def {
				md, _, _, _ := pl.Hover(snap, pd.At.Call.Start)
				return map[string]any{"markdown": md, "title": annotate.LensTitle(def, pd.Stale)}, nil
			}
		}
		return map[string]any{"title": annotate.LensTitle(def, true)}, nil
	}
	return nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "unknown command %q", p.Command)
}
