package lsp

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cachelens/cachelens/internal/lsptest"
	"github.com/cachelens/cachelens/internal/testmodule"
	"go.lsp.dev/jsonrpc2"
)

// harness is a server running in process, talking to a real JSON-RPC
// client over pipes.
type harness struct {
	t      *testing.T
	s      *Server
	logs   *logLines
	c      *lsptest.Client
	toSrv  io.Writer // raw access to the server's input
	exited chan int
}

func start(t *testing.T) *harness {
	t.Helper()
	rt, err := os.MkdirTemp("", "lsp")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(rt) })
	os.Chmod(rt, 0o700)
	logs := &logLines{t: t}
	s := newServer(Options{RuntimeDir: filepath.Join(rt, "rt"), RunsDir: filepath.Join(rt, "runs"), RefreshEvery: 20 * time.Millisecond, Logf: logs.logf})
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	h := &harness{t: t, s: s, logs: logs, toSrv: inW, exited: make(chan int, 1)}
	go func() { h.exited <- s.run(t.Context(), inR, outW); outW.Close() }()
	h.c = lsptest.New(outR, inW, func() error { inW.Close(); return nil })
	t.Cleanup(func() {
		inW.Close()
		logs.mu.Lock()
		logs.done = true
		logs.mu.Unlock()
	})
	return h
}

// logLines keeps the server's log lines (and passes them to the test's
// log while the test runs).
type logLines struct {
	t     *testing.T
	mu    sync.Mutex
	lines []string
	done  bool
}

func (l *logLines) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
	if !l.done {
		l.t.Logf(format, args...)
	}
}

// wait waits until a line containing sub is logged.
func (l *logLines) wait(sub string, d time.Duration) bool {
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		l.mu.Lock()
		for _, line := range l.lines {
			if strings.Contains(line, sub) {
				l.mu.Unlock()
				return true
			}
		}
		l.mu.Unlock()
	}
	return false
}

type initOpts struct {
	roots        []string
	utf8         bool
	options      map[string]any
	refresh      bool
	progress     bool
	noInlayHints bool
	noCodeLenses bool // like Helix, which shows no code lenses
}

func (h *harness) initialize(o initOpts) map[string]any {
	h.t.Helper()
	var folders []map[string]string
	for _, r := range o.roots {
		folders = append(folders, map[string]string{"uri": "file://" + r, "name": filepath.Base(r)})
	}
	caps := map[string]any{
		"workspace": map[string]any{
			"codeLens":      map[string]any{"refreshSupport": o.refresh},
			"inlayHint":     map[string]any{"refreshSupport": o.refresh},
			"workspaceEdit": map[string]any{"documentChanges": true},
		},
		"textDocument": map[string]any{"publishDiagnostics": map[string]any{"relatedInformation": true, "versionSupport": true}},
		"window":       map[string]any{"workDoneProgress": o.progress},
	}
	if !o.noInlayHints {
		caps["textDocument"].(map[string]any)["inlayHint"] = map[string]any{}
	}
	if !o.noCodeLenses {
		caps["textDocument"].(map[string]any)["codeLens"] = map[string]any{}
	}
	if o.utf8 {
		caps["general"] = map[string]any{"positionEncodings": []string{"utf-8", "utf-16"}}
	}
	params := map[string]any{"processId": os.Getpid(), "workspaceFolders": folders, "capabilities": caps}
	if o.options != nil {
		params["initializationOptions"] = o.options
	}
	var res map[string]any
	if err := h.c.Call("initialize", params, &res); err != nil {
		h.t.Fatal(err)
	}
	if err := h.c.Notify("initialized", map[string]any{}); err != nil {
		h.t.Fatal(err)
	}
	return res
}

func (h *harness) shutdown() int {
	h.t.Helper()
	if err := h.c.Call("shutdown", nil, nil); err != nil {
		h.t.Fatal(err)
	}
	h.c.Notify("exit", nil)
	select {
	case code := <-h.exited:
		return code
	case <-time.After(10 * time.Second):
		h.t.Fatal("the server did not exit")
		return -1
	}
}

func rpcCode(err error) jsonrpc2.Code {
	var e *jsonrpc2.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

func TestLifecycle(t *testing.T) {
	h := start(t)
	// Before initialize.
	if err := h.c.Call("textDocument/codeLens", map[string]any{"textDocument": map[string]string{"uri": "file:///x.go"}}, nil); rpcCode(err) != jsonrpc2.ServerNotInitialized {
		t.Errorf("before initialize: %v", err)
	}
	res := h.initialize(initOpts{utf8: true})
	caps := res["capabilities"].(map[string]any)
	for _, k := range []string{"codeLensProvider", "hoverProvider", "codeActionProvider", "inlayHintProvider", "executeCommandProvider", "textDocumentSync"} {
		if caps[k] == nil {
			t.Errorf("capability %s missing: %v", k, caps)
		}
	}
	for _, k := range []string{"completionProvider", "definitionProvider", "documentFormattingProvider", "renameProvider"} {
		if caps[k] != nil {
			t.Errorf("advertises %s, which it does not implement", k)
		}
	}
	if caps["positionEncoding"] != "utf-8" {
		t.Errorf("position encoding %v", caps["positionEncoding"])
	}
	if info := res["serverInfo"].(map[string]any); info["name"] != "cachelens" {
		t.Errorf("server info %v", info)
	}
	if err := h.c.Call("initialize", map[string]any{"capabilities": map[string]any{}}, nil); rpcCode(err) != jsonrpc2.InvalidRequest {
		t.Errorf("second initialize: %v", err)
	}
	if err := h.c.Call("textDocument/definition", map[string]any{}, nil); rpcCode(err) != jsonrpc2.MethodNotFound {
		t.Errorf("unsupported method: %v", err)
	}
	if err := h.c.Call("shutdown", nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := h.c.Call("textDocument/hover", map[string]any{}, nil); rpcCode(err) != jsonrpc2.InvalidRequest {
		t.Errorf("after shutdown: %v", err)
	}
	h.c.Notify("exit", nil)
	if code := <-h.exited; code != 0 {
		t.Errorf("exit code %d after shutdown, want 0", code)
	}
}

func TestExitWithoutShutdown(t *testing.T) {
	h := start(t)
	h.initialize(initOpts{})
	h.c.Notify("exit", nil)
	if code := <-h.exited; code != 1 {
		t.Errorf("exit code %d without shutdown, want 1", code)
	}
}

func TestBadInput(t *testing.T) {
	h := start(t)
	h.initialize(initOpts{})
	// Frames that are not JSON-RPC, a bad header, then a good request:
	// the connection survives and answers.
	lsptest.Raw(h.toSrv, "{not json")
	lsptest.Raw(h.toSrv, `{"jsonrpc":"2.0","method":42}`)
	fmt.Fprint(h.toSrv, "Content-Length: lots\r\n\r\n")
	if err := h.c.Call("cachelens/test.panic", nil, nil); err == nil || !strings.Contains(err.Error(), "internal error") {
		t.Errorf("panicking handler: %v", err)
	}
	malformed := 0
	for _, l := range h.c.Logs() {
		if strings.Contains(l, "ignored a malformed message") {
			malformed++
		}
	}
	if malformed != 3 {
		t.Errorf("%d malformed messages reported, want 3: %q", malformed, h.c.Logs())
	}
	if err := h.c.Call("textDocument/hover", map[string]any{"textDocument": map[string]string{"uri": "file:///no/such/file.go"}, "position": map[string]int{"line": 0, "character": 0}}, nil); rpcCode(err) != jsonrpc2.InvalidParams {
		t.Errorf("unknown document: %v", err)
	}
	if err := h.c.Call("textDocument/hover", map[string]any{"textDocument": 7}, nil); rpcCode(err) != jsonrpc2.InvalidParams {
		t.Errorf("malformed params: %v", err)
	}
	// A notification with malformed params is not handled with zero
	// values: it is refused, and the refusal logged (it has no reply).
	h.c.Notify("textDocument/didOpen", map[string]any{"textDocument": 7})
	if !h.logs.wait("textDocument/didOpen: invalid params", 5*time.Second) {
		t.Error("a didOpen with malformed params was not refused")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "x.go")
	os.WriteFile(path, []byte("package x\n"), 0o644)
	if err := h.c.Call("textDocument/hover", map[string]any{"textDocument": map[string]string{"uri": "file://" + path}, "position": map[string]int{"line": 99, "character": 0}}, nil); rpcCode(err) != jsonrpc2.InvalidParams {
		t.Errorf("position past the end: %v", err)
	}
	var lenses []any
	if err := h.c.Call("textDocument/codeLens", map[string]any{"textDocument": map[string]string{"uri": "file://" + path}}, &lenses); err != nil || len(lenses) != 0 {
		t.Errorf("a file outside any module: %v %v", lenses, err)
	}
	if code := h.shutdown(); code != 0 {
		t.Errorf("exit code %d", code)
	}
}

// TestCancel: a request cancelled while it waits in the queue is answered
// with RequestCancelled and is not run; the server goes on. The test reads
// the server's raw replies (a JSON-RPC client would drop the reply to an
// id it did not send).
func TestCancel(t *testing.T) {
	releaseBlock = make(chan struct{})
	rt := t.TempDir()
	s := newServer(Options{RuntimeDir: filepath.Join(rt, "rt"), RunsDir: filepath.Join(rt, "runs"), Logf: t.Logf})
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	go func() { s.run(t.Context(), inR, outW); outW.Close() }()
	t.Cleanup(func() { inW.Close() })
	replies := make(chan map[string]json.RawMessage, 16)
	go func() {
		r := bufio.NewReader(outR)
		for {
			var n int
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					close(replies)
					return
				}
				line = strings.TrimSpace(line)
				if line == "" {
					break
				}
				if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
					n, _ = strconv.Atoi(v)
				}
			}
			body := make([]byte, n)
			if _, err := io.ReadFull(r, body); err != nil {
				close(replies)
				return
			}
			var m map[string]json.RawMessage
			if json.Unmarshal(body, &m) == nil && m["id"] != nil && m["method"] == nil {
				replies <- m
			}
		}
	}()
	next := func(id string) map[string]json.RawMessage {
		t.Helper()
		select {
		case m, ok := <-replies:
			if !ok {
				t.Fatal("the server closed its output")
			}
			if string(m["id"]) != id {
				t.Fatalf("reply to %s, want one to %s: %s", m["id"], id, m["error"])
			}
			return m
		case <-time.After(10 * time.Second):
			t.Fatalf("no reply to %s", id)
		}
		return nil
	}
	lsptest.Raw(inW, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{}}}`)
	next("1")
	lsptest.Raw(inW, `{"jsonrpc":"2.0","method":"initialized","params":{}}`)
	// The worker is busy; "victim" waits in the queue and is cancelled
	// there.
	lsptest.Raw(inW, `{"jsonrpc":"2.0","id":2,"method":"cachelens/test.block","params":null}`)
	lsptest.Raw(inW, `{"jsonrpc":"2.0","id":"victim","method":"textDocument/hover","params":{"textDocument":{"uri":"file:///nonexistent.go"},"position":{"line":0,"character":0}}}`)
	lsptest.Raw(inW, `{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":"victim"}}`)
	time.Sleep(50 * time.Millisecond) // the cancellation arrives while "victim" waits
	close(releaseBlock)
	next("2")
	// "victim" is answered in its turn, without running.
	m := next(`"victim"`)
	var e struct{ Code int64 }
	if err := json.Unmarshal(m["error"], &e); err != nil || e.Code != int64(requestCancelled) {
		t.Errorf("reply to the cancelled request: %s %s, want error code %d", m["result"], m["error"], requestCancelled)
	}
	// The server goes on, and forgot the cancelled request.
	lsptest.Raw(inW, `{"jsonrpc":"2.0","id":3,"method":"textDocument/codeLens","params":{"textDocument":{"uri":"file:///nonexistent.go"}}}`)
	if m := next("3"); m["error"] == nil || !strings.Contains(string(m["error"]), "-32602") {
		t.Errorf("after the cancel: %s %s", m["result"], m["error"])
	}
	s.qmu.Lock()
	left := len(s.active)
	s.qmu.Unlock()
	if left != 0 {
		t.Errorf("%d requests still registered as active", left)
	}
}

// writeModule creates a module using this repository's cacheruntime.
func writeModule(t *testing.T, files map[string]string) string {
	return testmodule.New(t, "example.com/m", files)
}

// TestBadURI: a request on a URI that does not parse is refused as
// invalid params, not as an internal error.
func TestBadURI(t *testing.T) {
	h := start(t)
	h.initialize(initOpts{})
	for _, u := range []string{"file://%zz%", "file://", "http://example.com/x.go"} {
		var hov any
		err := h.c.Call("textDocument/hover", map[string]any{"textDocument": map[string]string{"uri": u}, "position": map[string]int{"line": 0, "character": 0}}, &hov)
		var je *jsonrpc2.Error
		if !errors.As(err, &je) || je.Code != jsonrpc2.InvalidParams {
			t.Errorf("hover on %q: %#v, want invalid params (-32602)", u, err)
		}
	}
}

// TestNoModule: a workspace without go.mod gets a log line that says why
// there are no diagnostics.
func TestNoModule(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o644)
	h := start(t)
	h.initialize(initOpts{roots: []string{dir}})
	if !h.logs.wait("no Go module (go.mod)", 30*time.Second) {
		t.Error("no log line says there is no module")
	}
}
