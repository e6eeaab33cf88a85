// Package lsp is the cachelens language server: LSP over a stream (stdio)
// built on go.lsp.dev/jsonrpc2 and go.lsp.dev/protocol. It runs beside
// gopls and offers only what is about caches: code lenses with each cached
// function's hits and misses, inlay hints at call sites, hover tables,
// diagnostics from the static checks and from running programs, and quick
// fixes.
//
// The handlers are thin: they read an immutable snapshot of the insight
// store (server/internal/store, fed by server/internal/collector), place
// it on the buffer (server/internal/annotate) and convert positions
// (server/internal/document). Loading and analysis
// (server/internal/workspace) run in the background and publish when done,
// so no request waits for them.
//
// It is the server `cachelens serve` runs, not a stable API: editors talk
// to it over LSP.
package lsp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/cachelens/cachelens/server/internal/annotate"
	"github.com/cachelens/cachelens/server/internal/collector"
	"github.com/cachelens/cachelens/server/internal/document"
	"github.com/cachelens/cachelens/server/internal/prod"
	"github.com/cachelens/cachelens/server/internal/store"
	"github.com/cachelens/cachelens/server/internal/workspace"
	"go.lsp.dev/jsonrpc2"
)

// Options configures a server.
type Options struct {
	// Logf receives log lines (the command writes them to stderr, which
	// editors show in their output panels). Nil discards them.
	Logf func(format string, args ...any)
	// RuntimeDir is where the collector registers; empty means the
	// per-user default.
	RuntimeDir string
	// RunsDir is where programs keep their run files; empty means the
	// per-user default (wire.RunsDir).
	RunsDir string
	// Socket overrides the socket path (also settable by the client and
	// by CACHELENS_SOCKET).
	Socket string
	// Debounce is how long edits settle before re-checking.
	Debounce time.Duration
	// RefreshEvery throttles refresh requests to the client.
	RefreshEvery time.Duration
	// Version is reported in serverInfo.
	Version string
}

// Serve runs a server on in and out until the client sends exit, and
// returns the process exit code (0 after a shutdown request, 1 without).
func Serve(ctx context.Context, in io.Reader, out io.Writer, opts Options) int {
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	if opts.RefreshEvery == 0 {
		opts.RefreshEvery = 250 * time.Millisecond
	}
	return newServer(opts).run(ctx, in, out)
}

func (s *Server) run(ctx context.Context, in io.Reader, out io.Writer) int {
	opts := s.opts
	st := newStream(in, out, nil, opts.Logf)
	s.st = st
	s.conn = jsonrpc2.NewConn(st)
	s.conn.Go(ctx, s.receive)
	go s.work(ctx)
	select {
	case code := <-s.exit:
		s.stop()
		return code
	case <-s.conn.Done():
		// The client went away without exit.
		s.stop()
		return 1
	case <-ctx.Done():
		s.stop()
		return 1
	}
}

type state int

const (
	stateNew state = iota
	stateRunning
	stateShutdown
)

// Server is one client's session.
type Server struct {
	opts Options
	conn jsonrpc2.Conn
	st   *stream // the connection's stream, for replies already encoded (encodedReply)
	exit chan int

	qmu    sync.Mutex
	queue  []queued
	qwake  chan struct{}
	active map[string]context.CancelFunc // in-flight and queued requests

	mu       sync.Mutex
	state    state
	caps     clientCaps
	enc      document.Encoding
	settings Settings
	roots    []string
	docs     map[string]*doc // by file path

	store     *store.Store
	coll      *collector.Collector
	ws        *workspace.Workspace
	ann       *annotate.Annotator
	findings  *workspace.Findings
	published map[string]bool
	pubMu     sync.Mutex
	unsub     func()
	bg        sync.WaitGroup // goroutines that outlive a request: done before the connection closes
	progressN int
	lensIDs   map[store.DefKey]int
	lensDefs  []store.DefKey
	lensCache map[string]lensAnswer // by document URI

	stopped    bool         // stopBackground ran: start nothing more
	prod       *prod.Poller // production metrics from Prometheus
	prodStatus string       // the last status logged
	rev        string       // the workspace's git revision, as of revAt
	revAt      time.Time
}

// doc is an open buffer.
type doc struct {
	*document.Document
	dirty bool
}

type queued struct {
	ctx   context.Context
	reply jsonrpc2.Replier
	req   jsonrpc2.Request
	key   string
	at    time.Time // when it arrived
}

func newServer(opts Options) *Server {
	s := &Server{
		opts:      opts,
		exit:      make(chan int, 1),
		qwake:     make(chan struct{}, 1),
		active:    map[string]context.CancelFunc{},
		docs:      map[string]*doc{},
		store:     store.New(),
		published: map[string]bool{},
		settings:  defaultSettings(),
		lensIDs:   map[store.DefKey]int{},
		lensCache: map[string]lensAnswer{},
	}
	s.ann = annotate.New(s)
	s.prod = prod.NewPoller(s.productionChanged)
	return s
}

func (s *Server) logf(format string, args ...any) { s.opts.Logf(format, args...) }

// receive runs on the connection's reader goroutine: it must not block.
// Cancellation and exit act at once; everything else is queued, in order.
func (s *Server) receive(ctx context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request) error {
	switch req.Method() {
	case "$/cancelRequest":
		var p struct {
			ID json.RawMessage `json:"id"`
		}
		if json.Unmarshal(req.Params(), &p) == nil {
			s.cancel(idKey(p.ID))
		}
		return nil
	case "exit":
		s.mu.Lock()
		code := 1
		if s.state == stateShutdown {
			code = 0
		}
		s.mu.Unlock()
		select {
		case s.exit <- code:
		default:
		}
		return nil
	}
	q := queued{ctx: ctx, reply: reply, req: req, at: time.Now()}
	if call, ok := req.(*jsonrpc2.Call); ok {
		id := call.ID()
		raw, _ := json.Marshal(&id) // MarshalJSON has a pointer receiver
		q.key = idKey(raw)
		var cancel context.CancelFunc
		q.ctx, cancel = context.WithCancel(ctx)
		s.qmu.Lock()
		s.active[q.key] = cancel
		s.qmu.Unlock()
	}
	s.qmu.Lock()
	s.queue = append(s.queue, q)
	s.qmu.Unlock()
	select {
	case s.qwake <- struct{}{}:
	default:
	}
	return nil
}

func idKey(raw json.RawMessage) string { return strings.TrimSpace(string(raw)) }

func (s *Server) cancel(key string) {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	if c, ok := s.active[key]; ok {
		c()
	}
}

// work handles queued messages one at a time, in the order they came.
func (s *Server) work(ctx context.Context) {
	for {
		s.qmu.Lock()
		if len(s.queue) == 0 {
			s.qmu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-s.qwake:
			case <-s.conn.Done():
				return
			}
			continue
		}
		q := s.queue[0]
		s.queue = s.queue[1:]
		s.qmu.Unlock()
		s.dispatch(q)
	}
}

// slowMessage is how long a message may take, from its arrival to its
// answer, before the log says so.
const slowMessage = 500 * time.Millisecond

// requestCancelled is LSP's error code for a cancelled request.
const requestCancelled jsonrpc2.Code = -32800

func (s *Server) dispatch(q queued) {
	method := q.req.Method()
	_, isCall := q.req.(*jsonrpc2.Call)
	done := func() {
		if q.key != "" {
			s.qmu.Lock()
			if c, ok := s.active[q.key]; ok {
				c()
				delete(s.active, q.key)
			}
			s.qmu.Unlock()
		}
	}
	if isCall && q.ctx.Err() != nil {
		done()
		q.reply(context.Background(), nil, jsonrpc2.NewError(requestCancelled, "request cancelled"))
		return
	}
	start := time.Now()
	result, err := s.call(q.ctx, method, q.req.Params(), isCall)
	if took := time.Since(q.at); took > slowMessage {
		s.logf("%s took %v (%v waiting for earlier messages)", method, took.Round(time.Millisecond), start.Sub(q.at).Round(time.Millisecond))
	}
	cancelled := q.ctx.Err() != nil
	done()
	if !isCall {
		if err != nil {
			s.logf("%s: %v", method, err)
		}
		return
	}
	if cancelled && err == nil {
		err = jsonrpc2.NewError(requestCancelled, "request cancelled")
		result = nil
	}
	var rerr error
	if enc, ok := result.(encodedReply); ok && err == nil {
		_, rerr = s.st.writeResult(q.key, enc)
	} else {
		rerr = q.reply(context.Background(), result, err)
	}
	if rerr != nil {
		s.logf("replying to %s: %v", method, rerr)
	}
}

// encodedReply is a handler's result already encoded as JSON: dispatch
// writes it into the reply as it is. Handlers that answer the same large
// result again and again (codeLens on a big file) keep it encoded, so a
// repeated request allocates nothing for its answer.
type encodedReply []byte

// call runs one handler, turning a panic into an error reply.
func (s *Server) call(ctx context.Context, method string, params json.RawMessage, isCall bool) (result any, err error) {
	defer func() {
		if r := recover(); r != nil {
			s.logf("internal error in %s: %v\n%s", method, r, debug.Stack())
			result, err = nil, jsonrpc2.Errorf(jsonrpc2.InternalError, "internal error in %s: %v", method, r)
		}
	}()
	s.mu.Lock()
	st := s.state
	s.mu.Unlock()
	switch {
	case st == stateNew && method != "initialize":
		if !isCall {
			return nil, nil // notifications before initialize are dropped
		}
		return nil, jsonrpc2.NewError(jsonrpc2.ServerNotInitialized, "the server is not initialized")
	case st != stateNew && method == "initialize":
		return nil, jsonrpc2.NewError(jsonrpc2.InvalidRequest, "initialize was already called")
	case st == stateShutdown:
		if !isCall {
			return nil, nil
		}
		return nil, jsonrpc2.NewError(jsonrpc2.InvalidRequest, "the server is shutting down")
	}
	h, ok := handlers[method]
	if !ok {
		if !isCall || strings.HasPrefix(method, "$/") {
			return nil, nil // unknown notifications are ignored
		}
		return nil, jsonrpc2.Errorf(jsonrpc2.MethodNotFound, "method %q is not supported by cachelens", method)
	}
	return h(s, ctx, params)
}

// handler answers one method from its raw params. The table below is
// built from typed methods: request and notification decode the params
// into the method's own type (missing or malformed params are
// InvalidParams), so each handler reads like gopls's typed server methods.
type handler func(s *Server, ctx context.Context, params json.RawMessage) (any, error)

// request adapts a typed request handler.
func request[P, R any](m func(*Server, context.Context, *P) (R, error)) handler {
	return func(s *Server, ctx context.Context, params json.RawMessage) (any, error) {
		var p P
		if err := decode(params, &p); err != nil {
			return nil, err
		}
		return m(s, ctx, &p)
	}
}

// notification adapts a typed notification handler.
func notification[P any](m func(*Server, context.Context, *P) error) handler {
	return func(s *Server, ctx context.Context, params json.RawMessage) (any, error) {
		var p P
		if err := decode(params, &p); err != nil {
			return nil, err
		}
		return nil, m(s, ctx, &p)
	}
}

// noParams adapts a method that takes no params (initialized, shutdown).
func noParams(m func(*Server, context.Context) error) handler {
	return func(s *Server, ctx context.Context, _ json.RawMessage) (any, error) {
		return nil, m(s, ctx)
	}
}

// handlers are the methods the server answers, each in the file of its
// family: general.go (lifecycle), text_synchronization.go, code_lens.go,
// inlay_hint.go, hover.go, code_action.go, command.go, workspace.go.
var handlers = map[string]handler{
	"initialize":                          request((*Server).initialize),
	"initialized":                         noParams((*Server).initialized),
	"shutdown":                            noParams((*Server).shutdown),
	"textDocument/didOpen":                notification((*Server).didOpen),
	"textDocument/didChange":              notification((*Server).didChange),
	"textDocument/didSave":                notification((*Server).didSave),
	"textDocument/didClose":               notification((*Server).didClose),
	"textDocument/codeLens":               request((*Server).codeLens),
	"codeLens/resolve":                    request((*Server).resolveCodeLens),
	"textDocument/inlayHint":              request((*Server).inlayHint),
	"textDocument/hover":                  request((*Server).hover),
	"textDocument/codeAction":             request((*Server).codeAction),
	"workspace/executeCommand":            request((*Server).executeCommand),
	"workspace/didChangeConfiguration":    notification((*Server).didChangeConfiguration),
	"workspace/didChangeWorkspaceFolders": notification((*Server).didChangeWorkspaceFolders),
	"workspace/didChangeWatchedFiles":     notification((*Server).didChangeWatchedFiles),
}

// decode unmarshals params, with an InvalidParams error on failure.
func decode(params json.RawMessage, v any) error {
	if len(params) == 0 || string(params) == "null" {
		return jsonrpc2.NewError(jsonrpc2.InvalidParams, "missing params")
	}
	if err := json.Unmarshal(params, v); err != nil {
		return jsonrpc2.Errorf(jsonrpc2.InvalidParams, "invalid params: %v", err)
	}
	return nil
}

// stopBackground stops the collector and the workspace.
func (s *Server) stopBackground() {
	s.mu.Lock()
	s.stopped = true
	coll, ws, unsub := s.coll, s.ws, s.unsub
	s.coll, s.ws, s.unsub = nil, nil, nil
	s.mu.Unlock()
	if unsub != nil {
		unsub()
	}
	if coll != nil {
		coll.Close()
	}
	s.prod.Close()
	s.bg.Wait() // nothing is sent on the connection after this
	if ws != nil {
		ws.Close()
	}
}

func (s *Server) stop() {
	s.stopBackground()
	s.conn.Close()
}

// notify sends a notification to the client.
func (s *Server) notify(method string, params any) {
	if err := s.conn.Notify(context.Background(), method, params); err != nil {
		s.logf("sending %s: %v", method, err)
	}
}

// callClient sends a request to the client from its own goroutine, so no
// handler ever waits for the client.
func (s *Server) callClient(method string, params any, done func(error)) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var result json.RawMessage
		_, err := s.conn.Call(ctx, method, params, &result)
		if err != nil && !errors.Is(err, context.Canceled) {
			s.logf("%s: %v", method, err)
		}
		if done != nil {
			done(err)
		}
	}()
}

// logMessage shows a line in the client's log.
func (s *Server) logMessage(typ int, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	s.logf("%s", msg)
	s.notify("window/logMessage", map[string]any{"type": typ, "message": msg})
}

func envSocket() string { return os.Getenv("CACHELENS_SOCKET") }
