package lsp

import (
	"fmt"
	"time"
)

// progress reports workspace loads with $/progress, when the client
// supports it.
type progress struct {
	s     *Server
	token string
	ok    chan bool
}

func (p *progress) Begin(title, message string) {
	p.s.mu.Lock()
	supported := p.s.caps.progress
	p.s.progressN++
	p.token = fmt.Sprintf("cachelens-load-%d", p.s.progressN)
	p.s.mu.Unlock()
	if !supported {
		p.token = ""
		return
	}
	p.ok = make(chan bool, 1)
	p.s.callClient("window/workDoneProgress/create", map[string]any{"token": p.token}, func(err error) { p.ok <- err == nil })
	// The token may be used once the client has answered (briefly wait).
	select {
	case ok := <-p.ok:
		if !ok {
			p.token = ""
			return
		}
	case <-time.After(2 * time.Second):
		p.token = ""
		return
	}
	p.s.notify("$/progress", map[string]any{"token": p.token, "value": map[string]any{"kind": "begin", "title": title, "message": message, "percentage": 0}})
}

func (p *progress) Report(message string, percent int) {
	if p.token != "" {
		p.s.notify("$/progress", map[string]any{"token": p.token, "value": map[string]any{"kind": "report", "message": message, "percentage": percent}})
	}
}

func (p *progress) End(message string) {
	if p.token != "" {
		p.s.notify("$/progress", map[string]any{"token": p.token, "value": map[string]any{"kind": "end", "message": message}})
	}
}
