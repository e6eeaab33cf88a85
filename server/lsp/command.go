package lsp

import (
	"context"
	"encoding/json"

	"github.com/cachelens/cachelens/server/internal/annotate"
	"go.lsp.dev/jsonrpc2"
)

func (s *Server) executeCommand(ctx context.Context, p *executeCommandParams) (any, error) {
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
