package lsp

import (
	"errors"

	"github.com/cachelens/cachelens/server/internal/document"
	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
)

// fromProtocol converts a go.lsp.dev position (unsigned) to ours.
func fromProtocol(p protocol.Position) position {
	return position{Line: int(p.Line), Character: int(p.Character)}
}

func toRange(d *document.Document, start, end int, enc document.Encoding) lspRange {
	s, e := d.Position(start, enc), d.Position(end, enc)
	return lspRange{position{s.Line, s.Character}, position{e.Line, e.Character}}
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
