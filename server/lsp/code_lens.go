package lsp

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/cachelens/cachelens/server/internal/annotate"
	"github.com/cachelens/cachelens/server/internal/document"
	"github.com/cachelens/cachelens/server/internal/store"
	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
)

// codeLens returns a lens for each cached function that has been called,
// without its title: editors resolve the lenses they show
// (codeLens/resolve), so a file with hundreds of cached functions costs
// little to annotate. The answer is kept encoded per document and
// placement, so asking again (editors ask on every scroll and refresh)
// writes the same bytes without encoding or allocating them again.
func (s *Server) codeLens(ctx context.Context, p *protocol.CodeLensParams) (encodedReply, error) {
	if !s.currentSettings().CodeLenses {
		return encodedReply("[]"), nil
	}
	d, err := s.current(string(p.TextDocument.URI))
	if err != nil {
		return nil, err
	}
	local, err := s.localLenses(p, d)
	if err != nil {
		return nil, err
	}
	if prod := s.prodLenses(d); len(prod) > 0 {
		return encodeLenses(append(slices.Clone(local.lenses), prod...))
	}
	return local.encoded, nil
}

func encodeLenses(ls []codeLens) (encodedReply, error) {
	if ls == nil {
		ls = []codeLens{}
	}
	data, err := json.Marshal(ls)
	if err != nil {
		return nil, fmt.Errorf("encoding code lenses: %w", err)
	}
	return data, nil
}

// localLenses are the lenses of the runs on this machine.
func (s *Server) localLenses(p *protocol.CodeLensParams, d *document.Document) (lensAnswer, error) {
	pl := s.ann.Place(s.store.Snapshot(), d.Path)
	enc := s.encoding()
	// The answer is kept with the placement it came from (which changes
	// whenever the buffer or the reports do).
	s.mu.Lock()
	cached, ok := s.lensCache[string(p.TextDocument.URI)]
	s.mu.Unlock()
	if ok && cached.pl == pl && cached.enc == enc {
		return cached, nil
	}
	cur := s.placementDoc(pl, d)
	lenses := pl.Lenses()
	out := make([]codeLens, 0, len(lenses))
	s.mu.Lock()
	for _, l := range lenses {
		pos := cur.Position(l.Offset, enc)
		r := lspRange{position{pos.Line, 0}, position{pos.Line, 0}}
		out = append(out, codeLens{Range: r, Data: &lensData{ID: s.lensIDLocked(l.Def)}})
	}
	s.mu.Unlock()
	encoded, err := encodeLenses(out)
	if err != nil {
		return lensAnswer{}, err
	}
	ans := lensAnswer{pl: pl, enc: enc, lenses: out, encoded: encoded}
	s.mu.Lock()
	if len(s.lensCache) >= 64 {
		clear(s.lensCache)
	}
	s.lensCache[string(p.TextDocument.URI)] = ans
	s.mu.Unlock()
	return ans, nil
}

// lensAnswer is a codeLens reply kept, per document (only the last: a
// placement holds its text), for the placement it came from: the lenses,
// and their encoding, which dispatch writes into the reply as it is.
type lensAnswer struct {
	pl      *annotate.Placement
	enc     document.Encoding
	lenses  []codeLens
	encoded encodedReply
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

func (s *Server) resolveCodeLens(ctx context.Context, l *codeLens) (*codeLens, error) {
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
