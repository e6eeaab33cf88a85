// Package wire defines how a program using cacheruntime reports to a
// cachelens language server. Both sides import it, so it uses only the
// standard library, as cacheruntime must.
//
// Counts travel through shared memory, not messages: each process keeps
// its caches' counters in a run file (run.go), which a server reads while
// the process runs and after it has ended, however it ended. The socket
// (this file) only tells a server that a process has started and where its
// run file is — or hands the server the file's descriptor — and its
// closing tells the server the process has ended.
//
// A connection is a stream of frames from the program to the server:
//
//	+----------------+---------+------+-------------------+
//	| length uint32  | version | type | payload (JSON)    |
//	| big endian     | 1 byte  | byte | length-2 bytes    |
//	+----------------+---------+------+-------------------+
//
// The first (and today only) frame is a Hello. See docs/wire.md.
//
// Programs use it through cacheruntime and the server through its
// collector; the format, not this package's Go API, is the contract
// (docs/wire.md).
package wire

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"
)

// Version is the protocol version carried in every frame.
const Version = 2

// MaxFrame is the largest frame a reader accepts (length field value).
const MaxFrame = 1 << 20

// Type identifies a message.
type Type byte

// The message types.
const (
	TypeHello Type = 1 // Hello: who is reporting, and where its run file is
)

var typeNames = map[Type]string{TypeHello: "hello"}

func (t Type) String() string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("type(%d)", byte(t))
}

// Hello is the first message on a connection.
type Hello struct {
	Proto     int       `json:"proto"`            // protocol version, = Version
	PID       int       `json:"pid"`              // process id
	Program   string    `json:"program"`          // path of the executable
	Module    string    `json:"module,omitempty"` // main module path
	GoVersion string    `json:"go,omitempty"`     // runtime.Version()
	Start     time.Time `json:"start"`            // when the run file was created
	Dir       string    `json:"dir,omitempty"`    // working directory
	Run       string    `json:"run,omitempty"`    // the run file's path, if it has one
	RunID     string    `json:"runID"`            // the run file's id (hex), as in its header
	// FD is set when the frame carries the run file's descriptor as
	// SCM_RIGHTS ancillary data: the server reads the counters through it
	// even where it cannot open the path (another mount namespace).
	FD bool `json:"fd,omitempty"`
}

// typeOf returns the message type of a message value.
func typeOf(msg any) (Type, bool) {
	switch msg.(type) {
	case *Hello, Hello:
		return TypeHello, true
	}
	return 0, false
}

// AppendFrame appends msg as one frame to dst.
func AppendFrame(dst []byte, msg any) ([]byte, error) {
	t, ok := typeOf(msg)
	if !ok {
		return dst, fmt.Errorf("wire: cannot encode %T", msg)
	}
	payload, err := json.Marshal(msg)
	if err != nil {
		return dst, fmt.Errorf("wire: encoding %s: %w", t, err)
	}
	n := len(payload) + 2
	if n > MaxFrame {
		return dst, fmt.Errorf("wire: %s message of %d bytes exceeds the %d-byte frame limit", t, n, MaxFrame)
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(n))
	dst = append(dst, Version, byte(t))
	return append(dst, payload...), nil
}

// Errors a Reader returns. ErrTooLarge and ErrVersion leave the stream
// unusable; ErrMalformed affects one message only.
var (
	ErrTooLarge  = errors.New("wire: frame too large")
	ErrVersion   = errors.New("wire: unsupported protocol version")
	ErrMalformed = errors.New("wire: malformed message")
)

// A Frame is one undecoded message.
type Frame struct {
	Type    Type
	Payload []byte
}

// Reader reads frames from a stream.
type Reader struct {
	r   *bufio.Reader
	max int
	buf []byte
}

// NewReader returns a Reader that rejects frames longer than max bytes (0
// means MaxFrame). Its memory grows with the bytes that arrive, not with
// the length a frame announces.
func NewReader(r io.Reader, max int) *Reader {
	if max <= 0 {
		max = MaxFrame
	}
	return &Reader{r: bufio.NewReaderSize(r, min(4<<10, max+6)), max: max}
}

// Next returns the next frame. The payload is valid until the next call.
// It returns io.EOF at a clean end of stream.
func (r *Reader) Next() (Frame, error) {
	var hdr [6]byte
	if _, err := io.ReadFull(r.r, hdr[:4]); err != nil {
		if err == io.ErrUnexpectedEOF {
			return Frame{}, fmt.Errorf("wire: truncated frame header: %w", err)
		}
		return Frame{}, err
	}
	n := int(binary.BigEndian.Uint32(hdr[:4]))
	if n > r.max {
		return Frame{}, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, n, r.max)
	}
	if n < 2 {
		return Frame{}, fmt.Errorf("%w: frame of %d bytes has no header", ErrMalformed, n)
	}
	if _, err := io.ReadFull(r.r, hdr[4:6]); err != nil {
		return Frame{}, fmt.Errorf("wire: truncated frame: %w", err)
	}
	if hdr[4] != Version {
		return Frame{}, fmt.Errorf("%w: %d (this reader speaks %d)", ErrVersion, hdr[4], Version)
	}
	// Read the payload in steps that at most double the buffer, so that a
	// peer announcing a large frame and sending little costs little.
	r.buf = r.buf[:0]
	for len(r.buf) < n-2 {
		step := min(n-2-len(r.buf), max(4<<10, len(r.buf)))
		r.buf = slices.Grow(r.buf, step)
		got, err := io.ReadFull(r.r, r.buf[len(r.buf):len(r.buf)+step])
		r.buf = r.buf[:len(r.buf)+got]
		if err != nil {
			return Frame{}, fmt.Errorf("wire: truncated %s frame: %w", Type(hdr[5]), err)
		}
	}
	return Frame{Type: Type(hdr[5]), Payload: r.buf}, nil
}

// Decode turns a frame into a pointer to its message struct. Unknown
// types and payloads that do not parse return an error wrapping
// ErrMalformed.
func Decode(f Frame) (any, error) {
	var msg any
	switch f.Type {
	case TypeHello:
		msg = new(Hello)
	default:
		return nil, fmt.Errorf("%w: unknown message type %d", ErrMalformed, byte(f.Type))
	}
	if err := json.Unmarshal(f.Payload, msg); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrMalformed, f.Type, err)
	}
	return msg, nil
}
