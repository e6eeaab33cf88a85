package lsp

import (
	"context"
	"slices"

	"github.com/cachelens/cachelens/server/internal/annotate"
)

func (s *Server) inlayHint(ctx context.Context, p *inlayHintParams) ([]inlayHint, error) {
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
