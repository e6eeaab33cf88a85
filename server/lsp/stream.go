package lsp

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	segjson "github.com/segmentio/encoding/json"
	"go.lsp.dev/jsonrpc2"
)

// maxMessage bounds one message's body.
const maxMessage = 64 << 20

// stream is a jsonrpc2.Stream with LSP's Content-Length framing that
// survives bad input: a message that is not valid JSON-RPC gets a parse
// error response and the connection carries on (jsonrpc2's own stream
// would end the connection). Only a broken transport ends it.
type stream struct {
	in   *bufio.Reader
	out  io.Writer
	wmu  sync.Mutex
	wbuf []byte // the message being written, under wmu
	logf func(format string, args ...any)
	c    io.Closer
}

func newStream(r io.Reader, w io.Writer, c io.Closer, logf func(string, ...any)) *stream {
	return &stream{in: bufio.NewReaderSize(r, 64<<10), out: w, c: c, logf: logf}
}

// Read returns the next valid message.
func (s *stream) Read(ctx context.Context) (jsonrpc2.Message, int64, error) {
	for {
		body, n, err := s.frame()
		if err != nil {
			var bad badFrame
			if errors.As(err, &bad) {
				s.logf("ignoring a malformed message: %v", err)
				s.replyParseError(err)
				continue
			}
			return nil, n, err
		}
		msg, err := decodeMessage(body)
		if err != nil {
			s.logf("ignoring a message that is not JSON-RPC: %v", err)
			s.replyParseError(fmt.Errorf("not a JSON-RPC message: %v", err))
			continue
		}
		return msg, n, nil
	}
}

// wireMessage is any JSON-RPC message as it is read.
type wireMessage struct {
	Version *string         `json:"jsonrpc"`
	ID      *jsonrpc2.ID    `json:"id"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params"`
	Result  json.RawMessage `json:"result"`
	Error   *jsonrpc2.Error `json:"error"`
}

// decodeMessage reads one message as jsonrpc2.DecodeMessage does (the
// same messages, the same checks), without its streaming decoder, which
// allocates a 32 KB buffer for every message however small: a few
// hundred bytes of codeLens request cost 32 KB, and a server answering
// an editor's requests collected garbage every few hundred of them,
// stalling requests in flight (the tail of codeLens latency).
func decodeMessage(body []byte) (jsonrpc2.Message, error) {
	var m wireMessage
	if _, err := segjson.Parse(body, &m, segjson.ZeroCopy); err != nil {
		return nil, fmt.Errorf("unmarshaling jsonrpc message: %w", err)
	}
	if m.Version != nil && *m.Version != jsonrpc2.Version {
		return nil, fmt.Errorf("invalid RPC version %q", *m.Version)
	}
	// The messages copy params and results (they are re-encoded); nil
	// params, which DecodeMessage keeps nil, become "null", which
	// handlers read alike.
	var params any
	if m.Params != nil {
		params = m.Params
	}
	switch {
	case m.Method == "" && m.ID == nil:
		return nil, jsonrpc2.ErrInvalidRequest
	case m.Method == "":
		var err error
		if m.Error != nil {
			err = m.Error
		}
		var result any
		if m.Result != nil {
			result = m.Result
		}
		return jsonrpc2.NewResponse(*m.ID, result, err)
	case m.ID == nil:
		return jsonrpc2.NewNotification(m.Method, params)
	default:
		return jsonrpc2.NewCall(*m.ID, m.Method, params)
	}
}

// badFrame is a framing error after which the next frame can still be
// read.
type badFrame struct{ error }

// frame reads one header block and body.
func (s *stream) frame() ([]byte, int64, error) {
	var total int64
	length := -1
	for {
		line, err := s.in.ReadString('\n')
		total += int64(len(line))
		if err != nil {
			if err == io.EOF && line == "" {
				return nil, total, io.EOF
			}
			return nil, total, fmt.Errorf("reading a header: %w", err)
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			if length < 0 {
				if total <= 2 {
					continue // stray blank line between messages
				}
				return nil, total, badFrame{errors.New("a message without Content-Length")}
			}
			break
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return nil, total, badFrame{fmt.Errorf("bad header line %q", line)}
		}
		if strings.EqualFold(strings.TrimSpace(name), "Content-Length") {
			n, err := strconv.Atoi(strings.TrimSpace(value))
			if err != nil || n < 0 {
				return nil, total, badFrame{fmt.Errorf("bad Content-Length %q", value)}
			}
			length = n
		}
	}
	if length > maxMessage {
		// Skip it: the stream stays in step.
		if _, err := io.CopyN(io.Discard, s.in, int64(length)); err != nil {
			return nil, total, err
		}
		return nil, total + int64(length), badFrame{fmt.Errorf("a %d-byte message exceeds the %d-byte limit", length, maxMessage)}
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(s.in, body); err != nil {
		return nil, total, fmt.Errorf("reading a %d-byte body: %w", length, err)
	}
	return body, total + int64(length), nil
}

// replyParseError tells the client about a message the server could not
// read. JSON-RPC would answer with an error response whose id is null,
// but several clients (go.lsp.dev/jsonrpc2 among them) drop the
// connection on a response they cannot match, so the error is shown as a
// log message instead.
func (s *stream) replyParseError(err error) {
	msg := map[string]any{"jsonrpc": "2.0", "method": "window/logMessage", "params": map[string]any{
		"type": 1, "message": fmt.Sprintf("cachelens: ignored a malformed message (JSON-RPC error %d): %v", jsonrpc2.ParseError, err),
	}}
	data, _ := json.Marshal(msg)
	s.write(data)
}

// Write sends one message.
func (s *stream) Write(ctx context.Context, msg jsonrpc2.Message) (int64, error) {
	if r, ok := msg.(*jsonrpc2.Response); ok && r.Err() == nil {
		// A successful reply: its result was encoded when the reply was
		// made; Response.MarshalJSON would copy it again through a
		// compacting, HTML-escaping pass (most of the cost of a large
		// answer such as 200 code lenses).
		rid := r.ID()
		id, err := json.Marshal(&rid) // ID marshals itself through a pointer
		if err != nil {
			return 0, fmt.Errorf("encoding a reply's id: %w", err)
		}
		result := r.Result()
		if len(result) == 0 {
			result = json.RawMessage("null")
		}
		return s.writeResult(string(id), result)
	}
	// jsonrpc2's messages marshal themselves; calling that directly
	// spares encoding/json a second pass over the bytes.
	var data []byte
	var err error
	if m, ok := msg.(json.Marshaler); ok {
		data, err = m.MarshalJSON()
	} else {
		data, err = json.Marshal(msg)
	}
	if err != nil {
		return 0, fmt.Errorf("encoding a message: %w", err)
	}
	return s.write(data)
}

func (s *stream) write(data []byte) (int64, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.frameBuf(len(data))
	s.wbuf = append(s.wbuf, data...)
	return s.flush()
}

// writeResult sends a successful reply whose result is already encoded —
// by jsonrpc2 (Write) or by the handler (encodedReply) — framed in the
// stream's buffer and written at once, with no further pass of the result
// through encoding/json. id is the call's id as JSON.
func (s *stream) writeResult(id string, result []byte) (int64, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	const head, tail = `{"jsonrpc":"2.0","id":`, `,"result":`
	s.frameBuf(len(head) + len(id) + len(tail) + len(result) + 1)
	s.wbuf = append(s.wbuf, head...)
	s.wbuf = append(s.wbuf, id...)
	s.wbuf = append(s.wbuf, tail...)
	s.wbuf = append(s.wbuf, result...)
	s.wbuf = append(s.wbuf, '}')
	return s.flush()
}

// frameBuf starts a message of n bytes in s.wbuf with its header; s.wmu
// is held.
func (s *stream) frameBuf(n int) {
	s.wbuf = append(s.wbuf[:0], "Content-Length: "...)
	s.wbuf = strconv.AppendInt(s.wbuf, int64(n), 10)
	s.wbuf = append(s.wbuf, "\r\n\r\n"...)
}

// flush writes s.wbuf in one write — header and body together, so the
// client wakes once — and keeps the buffer for the next message unless it
// grew past maxKeptBuf; s.wmu is held.
func (s *stream) flush() (int64, error) {
	n, err := s.out.Write(s.wbuf)
	if cap(s.wbuf) > maxKeptBuf {
		s.wbuf = nil
	}
	return int64(n), err
}

// maxKeptBuf bounds the write buffer kept between messages.
const maxKeptBuf = 1 << 20

// Close closes the transport.
func (s *stream) Close() error {
	if s.c != nil {
		return s.c.Close()
	}
	return nil
}
