package lsp

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"go.lsp.dev/jsonrpc2"
)

// A successful reply written by the stream decodes to the same message
// as jsonrpc2's own encoding of it.
func TestWriteResponseMatchesJSONRPC2(t *testing.T) {
	results := []any{nil, map[string]any{"a": []int{1, 2}, "b": "<tag> & \u2028"}, []string{}, "text", 42.5, json.RawMessage(`{"x": [ 1, 2 ]}`)}
	ids := []jsonrpc2.ID{jsonrpc2.NewNumberID(7), jsonrpc2.NewStringID("req-1")}
	for _, id := range ids {
		for _, res := range results {
			r, err := jsonrpc2.NewResponse(id, res, nil)
			if err != nil {
				t.Fatal(err)
			}
			ours := writtenBody(t, r)
			theirs, err := r.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			var a, b any
			if err := json.Unmarshal(ours, &a); err != nil {
				t.Fatalf("%s: %v", ours, err)
			}
			json.Unmarshal(theirs, &b)
			if !reflect.DeepEqual(a, b) {
				t.Errorf("ours %s\ntheirs %s", ours, theirs)
			}
			m, err := jsonrpc2.DecodeMessage(ours)
			if err != nil {
				t.Fatalf("jsonrpc2 cannot read %s: %v", ours, err)
			}
			if back, ok := m.(*jsonrpc2.Response); !ok || back.ID() != id {
				t.Errorf("decoded %#v", m)
			}
		}
	}
}

// writtenBody is the body of the frame the stream writes for msg.
func writtenBody(t *testing.T, msg jsonrpc2.Message) []byte {
	t.Helper()
	var out bytes.Buffer
	if _, err := newStream(strings.NewReader(""), &out, nil, t.Logf).Write(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	_, body, ok := bytes.Cut(out.Bytes(), []byte("\r\n\r\n"))
	if !ok {
		t.Fatalf("no header in %q", out.Bytes())
	}
	return body
}

// countingWriter records each Write call.
type countingWriter struct {
	writes [][]byte
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.writes = append(w.writes, bytes.Clone(p))
	return len(p), nil
}

// Every message goes out in one write, header and body together (two
// writes woke the client twice), and a reply already encoded
// (encodedReply, written by writeResult) reads back as the JSON-RPC
// response jsonrpc2 would have made, with its result's bytes unchanged.
func TestStreamWritesEachMessageOnce(t *testing.T) {
	w := &countingWriter{}
	st := newStream(strings.NewReader(""), w, nil, t.Logf)
	call, err := jsonrpc2.NewNotification("window/logMessage", map[string]any{"type": 3, "message": "hi"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Write(context.Background(), call); err != nil {
		t.Fatal(err)
	}
	result := []byte(`[{"range":{"start":{"line":1,"character":0},"end":{"line":1,"character":0}},"data":{"id":0}}]`)
	if _, err := st.writeResult(`"req-7"`, result); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte(`1,`), maxKeptBuf)
	big = append(append([]byte{'['}, big...), '0', ']')
	if _, err := st.writeResult(`8`, big); err != nil {
		t.Fatal(err)
	}
	if len(w.writes) != 3 {
		t.Fatalf("%d writes for 3 messages", len(w.writes))
	}
	if cap(st.wbuf) > maxKeptBuf {
		t.Errorf("kept a %d-byte buffer after a large message", cap(st.wbuf))
	}
	// Read them back through the stream's own reader.
	rd := newStream(bytes.NewReader(bytes.Join(w.writes, nil)), io.Discard, nil, t.Logf)
	var msgs []jsonrpc2.Message
	for range 3 {
		m, _, err := rd.Read(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m)
	}
	if n, ok := msgs[0].(*jsonrpc2.Notification); !ok || n.Method() != "window/logMessage" {
		t.Errorf("first message %#v", msgs[0])
	}
	for i, want := range []struct {
		id     jsonrpc2.ID
		result []byte
	}{{jsonrpc2.NewStringID("req-7"), result}, {jsonrpc2.NewNumberID(8), big}} {
		r, ok := msgs[i+1].(*jsonrpc2.Response)
		if !ok {
			t.Fatalf("message %d is %T", i+1, msgs[i+1])
		}
		if r.ID() != want.id || !bytes.Equal(r.Result(), want.result) || r.Err() != nil {
			t.Errorf("reply %d: id %v, err %v, result %.80s", i+1, r.ID(), r.Err(), r.Result())
		}
	}
}

// decodeMessage reads every message as jsonrpc2.DecodeMessage does: the
// same kind of message, id, method, params or result (as JSON values) and
// error, and an error where it has one.
func TestDecodeMessageMatchesJSONRPC2(t *testing.T) {
	for _, body := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"textDocument/codeLens","params":{"textDocument":{"uri":"file:///a.go"}}}`,
		`{"jsonrpc":"2.0","id":"abc","method":"shutdown"}`,
		`{"id":7,"method":"m","params":[1,"<&>",{"x":null}]}`,
		`{"jsonrpc":"2.0","method":"initialized","params":{}}`,
		`{"jsonrpc":"2.0","method":"exit"}`,
		`{"jsonrpc":"2.0","id":null,"method":"m"}`,
		`{"jsonrpc":"2.0","method":"textDocument/didChange","params":{"contentChanges":[{"text":"a\u2028<b>\n\"q\""}]}}`,
		"{\"jsonrpc\":\"2.0\",\"method\":\"textDocument/didChange\",\"params\":{\"text\":\"a\xff\xfeb\\u00e9\"}}", // not UTF-8
		`{"jsonrpc":"2.0","id":3,"result":{"applied":true}}`,
		`{"jsonrpc":"2.0","id":"r","result":null}`,
		`{"jsonrpc":"2.0","id":4}`,
		`{"jsonrpc":"2.0","id":5,"error":{"code":-32601,"message":"no such method","data":{"why":1}}}`,
		`  {"jsonrpc":"2.0","id":6,"method":"m"}  `,
		`{"jsonrpc":"2.0","id":6,"method":"m"} trailing`,
		`{"jsonrpc":"1.0","id":1,"method":"m"}`,
		`{"jsonrpc":"2.0","params":{}}`,
		`{"jsonrpc":"2.0","id":{},"method":"m"}`,
		`{"jsonrpc":"2.0","id":1,"method":"m","params":{"a":}`,
		`{"jsonrpc":"2.0","id":1,"method":7}`,
		`[1,2]`,
		`null`,
		``,
		`not json`,
	} {
		ours, oerr := decodeMessage([]byte(body))
		theirs, terr := jsonrpc2.DecodeMessage([]byte(body))
		if (oerr != nil) != (terr != nil) {
			t.Errorf("%s: error %v, jsonrpc2's %v", body, oerr, terr)
			continue
		}
		if oerr != nil {
			continue
		}
		if reflect.TypeOf(ours) != reflect.TypeOf(theirs) {
			t.Errorf("%s: %T, jsonrpc2's %T", body, ours, theirs)
			continue
		}
		sameJSON := func(what string, a, b json.RawMessage) {
			if len(b) == 0 {
				b = json.RawMessage("null") // what the handlers read for none
			}
			var av, bv any
			if err := json.Unmarshal(a, &av); err != nil {
				t.Errorf("%s: %s %s: %v", body, what, a, err)
			}
			json.Unmarshal(b, &bv)
			if !reflect.DeepEqual(av, bv) {
				t.Errorf("%s: %s %s, jsonrpc2's %s", body, what, a, b)
			}
		}
		switch o := ours.(type) {
		case *jsonrpc2.Call:
			th := theirs.(*jsonrpc2.Call)
			if o.ID() != th.ID() || o.Method() != th.Method() {
				t.Errorf("%s: call %v %s, jsonrpc2's %v %s", body, o.ID(), o.Method(), th.ID(), th.Method())
			}
			sameJSON("params", o.Params(), th.Params())
		case *jsonrpc2.Notification:
			th := theirs.(*jsonrpc2.Notification)
			if o.Method() != th.Method() {
				t.Errorf("%s: notification %s, jsonrpc2's %s", body, o.Method(), th.Method())
			}
			sameJSON("params", o.Params(), th.Params())
		case *jsonrpc2.Response:
			th := theirs.(*jsonrpc2.Response)
			if o.ID() != th.ID() || !reflect.DeepEqual(o.Err(), th.Err()) {
				t.Errorf("%s: response %v %v, jsonrpc2's %v %v", body, o.ID(), o.Err(), th.ID(), th.Err())
			}
			sameJSON("result", o.Result(), th.Result())
		}
	}
}

// A small request costs about its own size to read, not the 32 KB
// buffer jsonrpc2.DecodeMessage's streaming decoder allocates for every
// message (which made the server collect garbage every few hundred
// codeLens requests and stalled the requests in flight).
func TestSmallMessagesDecodeSmall(t *testing.T) {
	body := []byte(`{"jsonrpc":"2.0","id":12,"method":"textDocument/codeLens","params":{"textDocument":{"uri":"file:///work/big/main.go"}}}`)
	const n = 200
	perMessage := uint64(math.MaxUint64)
	for range 3 { // the least of three: other tests' goroutines may allocate meanwhile
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range n {
			if _, err := decodeMessage(body); err != nil {
				t.Fatal(err)
			}
		}
		runtime.ReadMemStats(&after)
		perMessage = min(perMessage, (after.TotalAlloc-before.TotalAlloc)/n)
	}
	if perMessage > 2048 {
		t.Errorf("reading a %d-byte request allocates %d bytes", len(body), perMessage)
	}
	t.Logf("%d bytes per %d-byte request", perMessage, len(body))
}
