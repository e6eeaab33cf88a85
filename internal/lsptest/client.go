// Package lsptest is a small LSP client for tests: it speaks JSON-RPC over
// a stream (pipes to an in-process server or a child process), answers the
// server's requests, and records what the server sends.
//
// It serves this repository's tests and benchmarks only.
package lsptest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"go.lsp.dev/jsonrpc2"
)

// Diagnostic is a published diagnostic as the client sees it.
type Diagnostic struct {
	Range    Range  `json:"range"`
	Severity int    `json:"severity"`
	Code     string `json:"code"`
	Source   string `json:"source"`
	Message  string `json:"message"`
}

// Range is an LSP range.
type Range struct {
	Start Position `json:"start"`
	End   Position `json:"end"`
}

// Position is an LSP position.
type Position struct {
	Line      int `json:"line"`
	Character int `json:"character"`
}

// Client is a test LSP client.
type Client struct {
	conn jsonrpc2.Conn

	mu        sync.Mutex
	changed   *sync.Cond
	diags     map[string][]Diagnostic
	versions  map[string]*int32
	progress  []json.RawMessage
	logs      []string
	requests  map[string]int // server→client requests by method
	published int
	status    json.RawMessage
}

type rwc struct {
	io.Reader
	io.Writer
	closer func() error
}

func (r rwc) Close() error {
	if r.closer != nil {
		return r.closer()
	}
	return nil
}

// New starts a client reading the server's output from r and writing to
// w; closer closes the transport.
func New(r io.Reader, w io.Writer, closer func() error) *Client {
	c := &Client{diags: map[string][]Diagnostic{}, versions: map[string]*int32{}, requests: map[string]int{}}
	c.changed = sync.NewCond(&c.mu)
	c.conn = jsonrpc2.NewConn(jsonrpc2.NewStream(rwc{r, w, closer}))
	c.conn.Go(context.Background(), c.handle)
	return c
}

func (c *Client) handle(ctx context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request) error {
	c.mu.Lock()
	defer func() {
		c.changed.Broadcast()
		c.mu.Unlock()
	}()
	switch req.Method() {
	case "textDocument/publishDiagnostics":
		var p struct {
			URI         string       `json:"uri"`
			Version     *int32       `json:"version"`
			Diagnostics []Diagnostic `json:"diagnostics"`
		}
		if err := json.Unmarshal(req.Params(), &p); err == nil {
			c.diags[p.URI] = p.Diagnostics
			c.versions[p.URI] = p.Version
			c.published++
		}
		return nil
	case "$/progress":
		c.progress = append(c.progress, slices.Clone(req.Params()))
		return nil
	case "cachelens/status":
		c.status = slices.Clone(req.Params())
		return nil
	case "window/logMessage", "window/showMessage":
		var p struct {
			Message string `json:"message"`
		}
		json.Unmarshal(req.Params(), &p)
		c.logs = append(c.logs, p.Message)
		return nil
	}
	if _, ok := req.(*jsonrpc2.Call); ok {
		c.requests[req.Method()]++
		return reply(ctx, nil, nil)
	}
	return nil
}

// Call sends a request and decodes its result into result (may be nil).
func (c *Client) Call(method string, params, result any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var raw json.RawMessage
	_, err := c.conn.Call(ctx, method, params, &raw)
	if err != nil {
		return err
	}
	if result != nil && len(raw) > 0 {
		return json.Unmarshal(raw, result)
	}
	return nil
}

// Notify sends a notification.
func (c *Client) Notify(method string, params any) error {
	return c.conn.Notify(context.Background(), method, params)
}

// WaitDiagnostics waits until the diagnostics for uri satisfy cond.
func (c *Client) WaitDiagnostics(uri string, timeout time.Duration, cond func([]Diagnostic) bool) ([]Diagnostic, error) {
	return waitFor(c, timeout, func() ([]Diagnostic, bool) {
		d, ok := c.diags[uri]
		return slices.Clone(d), ok && cond(d)
	}, func() string { return fmt.Sprintf("diagnostics for %s: %+v", uri, c.diags[uri]) })
}

// WaitRequest waits until the server has sent method at least n times.
func (c *Client) WaitRequest(method string, n int, timeout time.Duration) error {
	_, err := waitFor(c, timeout, func() (int, bool) { return c.requests[method], c.requests[method] >= n },
		func() string { return fmt.Sprintf("%s sent %d times", method, c.requests[method]) })
	return err
}

// Requests returns how often the server sent method.
func (c *Client) Requests(method string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.requests[method]
}

// Progress returns the $/progress notifications received.
func (c *Client) Progress() []json.RawMessage {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.progress)
}

// Logs returns the log messages received.
func (c *Client) Logs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.logs)
}

func waitFor[T any](c *Client, timeout time.Duration, cond func() (T, bool), describe func() string) (T, error) {
	deadline := time.Now().Add(timeout)
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		if v, ok := cond(); ok {
			return v, nil
		}
		if time.Now().After(deadline) {
			var zero T
			return zero, fmt.Errorf("timed out after %v; %s", timeout, describe())
		}
		// Wake up periodically to check the deadline.
		t := time.AfterFunc(50*time.Millisecond, func() {
			c.mu.Lock()
			c.changed.Broadcast()
			c.mu.Unlock()
		})
		c.changed.Wait()
		t.Stop()
	}
}

// Raw writes one framed message (any bytes) to the server, bypassing the
// connection: for malformed input and requests with chosen ids.
func Raw(w io.Writer, body string) error {
	_, err := fmt.Fprintf(w, "Content-Length: %d\r\n\r\n%s", len(body), body)
	return err
}

// Lens is a resolved code lens.
type Lens struct {
	Range   Range `json:"range"`
	Command struct {
		Title     string `json:"title"`
		Command   string `json:"command"`
		Arguments []any  `json:"arguments"`
	} `json:"command"`
	Data json.RawMessage `json:"data,omitempty"`
}

// CodeLenses asks for the code lenses of uri and resolves each, as an
// editor showing all of them would.
func (c *Client) CodeLenses(uri string) ([]Lens, error) {
	var raw []json.RawMessage
	if err := c.Call("textDocument/codeLens", map[string]any{"textDocument": map[string]string{"uri": uri}}, &raw); err != nil {
		return nil, err
	}
	out := make([]Lens, 0, len(raw))
	for _, r := range raw {
		var l Lens
		if err := c.Call("codeLens/resolve", r, &l); err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

// Status returns the last cachelens/status notification.
func (c *Client) Status() json.RawMessage {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status
}
