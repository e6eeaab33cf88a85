package lsp

import (
	"encoding/json"
	"reflect"
	"testing"

	"go.lsp.dev/jsonrpc2"
)

// A successful reply written by the stream decodes to the same message
// as jsonrpc2's own encoding of it.
func TestEncodeResponseMatchesJSONRPC2(t *testing.T) {
	results := []any{nil, map[string]any{"a": []int{1, 2}, "b": "<tag> & \u2028"}, []string{}, "text", 42.5, json.RawMessage(`{"x": [ 1, 2 ]}`)}
	ids := []jsonrpc2.ID{jsonrpc2.NewNumberID(7), jsonrpc2.NewStringID("req-1")}
	for _, id := range ids {
		for _, res := range results {
			r, err := jsonrpc2.NewResponse(id, res, nil)
			if err != nil {
				t.Fatal(err)
			}
			ours, err := encodeResponse(r)
			if err != nil {
				t.Fatal(err)
			}
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
