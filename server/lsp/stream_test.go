package lsp

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"reflect"
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
