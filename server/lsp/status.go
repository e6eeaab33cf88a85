package lsp

import (
	"time"

	"github.com/cachelens/cachelens/server/internal/prod"
)

// Status is the cachelens/status notification: whether the server
// receives reports and from how many programs. Editors show it in a status
// bar.
type Status struct {
	Listening bool   `json:"listening"`
	Socket    string `json:"socket,omitempty"`
	Running   int    `json:"running"`   // programs connected now
	Processes int    `json:"processes"` // programs that reported since the start
	Functions int    `json:"functions"` // cached functions reported
	// LastRun is when the latest run was last seen (its end, for one that
	// ended), RFC 3339; empty before any run. Clients say "1 run, 12 s ago".
	LastRun string `json:"lastRun,omitempty"`
	// Problem says what keeps programs' counts from arriving the usual
	// way (a directory someone else took, so a private one is used), or
	// is empty.
	Problem string `json:"problem,omitempty"`
	// Production says whether production metrics are read: "" (off),
	// "pending", "ok" (Caches: how many caches Prometheus reports),
	// "no data", or "unreachable" (ProductionError: why).
	Production      string `json:"production,omitempty"`
	ProductionError string `json:"productionError,omitempty"`
	ProductionCount int    `json:"productionCaches,omitempty"`
}

func (s *Server) sendStatus() {
	s.mu.Lock()
	coll := s.coll
	s.mu.Unlock()
	st := Status{}
	if coll != nil {
		st.Listening, st.Socket, st.Problem = true, coll.Socket(), coll.Problem()
	}
	snap := s.store.Snapshot()
	var last time.Time
	for _, p := range snap.Processes {
		st.Processes++
		if p.Connected {
			st.Running++
		}
		seen := p.Ended
		if seen.IsZero() {
			seen = p.LastSeen
		}
		if seen.After(last) {
			last = seen
		}
	}
	if !last.IsZero() {
		st.LastRun = last.UTC().Format(time.RFC3339Nano)
	}
	st.Functions = len(snap.Defs)
	if ps := s.prod.Snapshot(); ps.Status != prod.StatusOff {
		st.Production, st.ProductionError, st.ProductionCount = ps.Status, ps.Err, len(ps.Series)
	}
	s.notify("cachelens/status", st)
}

// runtimeChanged runs when programs reported something new: refresh the
// annotations and republish runtime diagnostics.
func (s *Server) runtimeChanged() {
	s.refresh()
	s.republishAll()
	s.sendStatus()
}

// refresh asks the client to fetch code lenses and inlay hints again, when
// it supports that (a few times a second at most: the store's
// subscription is throttled).
func (s *Server) refresh() {
	caps := s.clientCaps()
	if caps.codeLensRefresh {
		s.callClient("workspace/codeLens/refresh", nil, nil)
	}
	if caps.inlayHintRefresh {
		s.callClient("workspace/inlayHint/refresh", nil, nil)
	}
}
