package lsp

import (
	"context"
	"encoding/json"
)

// Test-only methods: one panics, one blocks until releaseBlock closes.
var releaseBlock = make(chan struct{})

func init() {
	handlers["cachelens/test.panic"] = func(s *Server, ctx context.Context, _ json.RawMessage) (any, error) {
		panic("a handler's bug")
	}
	handlers["cachelens/test.block"] = func(s *Server, ctx context.Context, _ json.RawMessage) (any, error) {
		<-releaseBlock
		return "released", nil
	}
}
