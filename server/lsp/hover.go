package lsp

import (
	"context"

	"go.lsp.dev/protocol"
)

func (s *Server) hover(ctx context.Context, p *protocol.HoverParams) (*hoverResult, error) {
	d, err := s.current(string(p.TextDocument.URI))
	if err != nil {
		return nil, err
	}
	enc := s.encoding()
	off, err := offsetOf(d, fromProtocol(p.Position), enc)
	if err != nil {
		return nil, err
	}
	snap := s.store.Snapshot()
	pl := s.ann.Place(snap, d.Path)
	cur := s.placementDoc(pl, d)
	md, start, end, ok := pl.Hover(snap, off)
	// The production section follows what this machine's runs saw, or
	// stands alone.
	if pmd, ps, pe, pok := s.prodHover(d, off); pok {
		if ok && cur == d {
			md += "\n\n---\n\n" + pmd
		} else if !ok {
			md, start, end, ok, cur = pmd, ps, pe, true, d
		}
	}
	if !ok {
		return nil, nil
	}
	r := toRange(cur, start, end, enc)
	return &hoverResult{Contents: protocol.MarkupContent{Kind: protocol.Markdown, Value: md}, Range: &r}, nil
}
