// Package wire defines how a program using cacheruntime reports to a
// cachelens language server: the frames, the messages and where servers
// register themselves. Both sides use it; it imports only the standard
// library because cacheruntime does.
//
// A connection is a stream of frames from the program to the server:
//
//	+----------------+---------+------+-------------------+
//	| length uint32  | version | type | payload (JSON)    |
//	| big endian     | 1 byte  | byte | length-2 bytes    |
//	+----------------+---------+------+-------------------+
//
// The first frame is a Hello. Counts are deltas since the previous frame on
// the same connection, so a new connection starts again from zero and a
// server that receives a Hello for a process it already knows replaces that
// process's counts with the new connection's. See docs/wire.md.
package wire

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// Version is the protocol version carried in every frame.
const Version = 1

// MaxFrame is the largest frame a reader accepts (length field value).
const MaxFrame = 1 << 20

// Type identifies a message.
type Type byte

// The message types.
const (
	TypeHello    Type = 1 // Hello: who is reporting
	TypeDef      Type = 2 // Def: a cached function
	TypeSite     Type = 3 // Site: a call site of a cached function
	TypeStats    Type = 4 // Stats: count deltas per site and per function
	TypeMiss     Type = 5 // Miss: miss-reason count deltas
	TypeHashErr  Type = 6 // HashErr: hash-error count deltas
	TypeMutation Type = 7 // Mutation: mutation count deltas
	TypeDrops    Type = 8 // Drops: reports the program could not deliver
)

var typeNames = map[Type]string{
	TypeHello: "hello", TypeDef: "def", TypeSite: "site", TypeStats: "stats", TypeMiss: "miss",
	TypeHashErr: "hasherr", TypeMutation: "mutation", TypeDrops: "drops",
}

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
	Start     time.Time `json:"start"`            // when the process started reporting
	Built     time.Time `json:"built,omitzero"`   // modification time of the executable
	Dir       string    `json:"dir,omitempty"`    // working directory
}

// Def describes a cached function: where Func was called and what it wraps.
type Def struct {
	ID            int    `json:"id"`   // process-local id, referenced by later messages
	File          string `json:"file"` // absolute path of the file with the Func call
	Line          int    `json:"line"`
	Col           int    `json:"col,omitempty"` // 0: unknown (the runtime knows only lines)
	Name          string `json:"name"`          // the wrapped function, e.g. main.loadCatalog
	Sig           string `json:"sig,omitempty"` // its type
	AllowMutation bool   `json:"allowMutation,omitempty"`
	TTL           int64  `json:"ttlNs,omitempty"`
	MaxEntries    int    `json:"maxEntries,omitempty"`
	Strict        bool   `json:"strict,omitempty"`
}

// Site is a place that calls a cached function.
type Site struct {
	ID   int    `json:"id"`  // process-local id
	Def  int    `json:"def"` // the cached function
	File string `json:"file"`
	Line int    `json:"line"`
	Func string `json:"func,omitempty"` // the calling function
}

// Stats carries count deltas.
type Stats struct {
	Sites []SiteCounts `json:"sites,omitempty"`
	Defs  []DefCounts  `json:"defs,omitempty"`
}

// SiteCounts are deltas for one call site.
type SiteCounts struct {
	Site     int   `json:"site"`
	Hits     int64 `json:"hits,omitempty"`
	Misses   int64 `json:"misses,omitempty"`
	Uncached int64 `json:"uncached,omitempty"`
}

// DefCounts are deltas (and, for Entries and Bytes, current values) for one
// cached function.
type DefCounts struct {
	Def        int   `json:"def"`
	Evictions  int64 `json:"evictions,omitempty"`
	Expired    int64 `json:"expired,omitempty"`
	Mutations  int64 `json:"mutations,omitempty"`
	HashErrors int64 `json:"hashErrors,omitempty"`
	ComputeNs  int64 `json:"computeNs,omitempty"`
	Computes   int64 `json:"computes,omitempty"`
	HashNs     int64 `json:"hashNs,omitempty"`
	HashN      int64 `json:"hashN,omitempty"`
	Entries    int64 `json:"entries"` // current value, not a delta
	Bytes      int64 `json:"bytes"`   // current value, not a delta
}

// Miss is a delta of one miss reason at one site.
type Miss struct {
	Site  int    `json:"site"`
	Kind  string `json:"kind"` // first, args, expired, evicted, mutated, cleared, error, panicked
	Arg   int    `json:"arg,omitempty"`
	Path  string `json:"path,omitempty"`
	Text  string `json:"text"` // human-readable, e.g. "arg 2 .Date changed since the previous call here"
	Count int64  `json:"count"`
}

// HashErr is a delta of one distinct hash error.
type HashErr struct {
	Def     int    `json:"def"`
	Site    int    `json:"site,omitempty"` // where it last happened
	Arg     int    `json:"arg,omitempty"`
	ArgType string `json:"argType,omitempty"` // the concrete type seen at run time
	Path    string `json:"path,omitempty"`
	Type    string `json:"type,omitempty"`
	Panic   string `json:"panic,omitempty"`
	Suggest string `json:"suggest,omitempty"` // the type a HashFunc should cover
	Text    string `json:"text"`
	Count   int64  `json:"count"`
}

// Mutation is a delta of one distinct mutation of a cached result.
type Mutation struct {
	Def    int    `json:"def"`
	Recv   int    `json:"recv,omitempty"`   // the site that received the value
	Detect int    `json:"detect,omitempty"` // the site whose hit found the change
	Path   string `json:"path,omitempty"`
	Count  int64  `json:"count"`
}

// Drops counts reports the program discarded since the previous Drops
// message (a slow or absent server).
type Drops struct {
	Count int64 `json:"count"`
}

// TypeOf returns the message type of a message value.
func TypeOf(msg any) (Type, bool) {
	switch msg.(type) {
	case *Hello, Hello:
		return TypeHello, true
	case *Def, Def:
		return TypeDef, true
	case *Site, Site:
		return TypeSite, true
	case *Stats, Stats:
		return TypeStats, true
	case *Miss, Miss:
		return TypeMiss, true
	case *HashErr, HashErr:
		return TypeHashErr, true
	case *Mutation, Mutation:
		return TypeMutation, true
	case *Drops, Drops:
		return TypeDrops, true
	}
	return 0, false
}

// AppendFrame appends msg as one frame to dst.
func AppendFrame(dst []byte, msg any) ([]byte, error) {
	t, ok := TypeOf(msg)
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
// means MaxFrame).
func NewReader(r io.Reader, max int) *Reader {
	if max <= 0 {
		max = MaxFrame
	}
	return &Reader{r: bufio.NewReaderSize(r, 64<<10), max: max}
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
	if cap(r.buf) < n-2 {
		r.buf = make([]byte, n-2)
	}
	r.buf = r.buf[:n-2]
	if _, err := io.ReadFull(r.r, r.buf); err != nil {
		return Frame{}, fmt.Errorf("wire: truncated %s frame: %w", Type(hdr[5]), err)
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
	case TypeDef:
		msg = new(Def)
	case TypeSite:
		msg = new(Site)
	case TypeStats:
		msg = new(Stats)
	case TypeMiss:
		msg = new(Miss)
	case TypeHashErr:
		msg = new(HashErr)
	case TypeMutation:
		msg = new(Mutation)
	case TypeDrops:
		msg = new(Drops)
	default:
		return nil, fmt.Errorf("%w: unknown message type %d", ErrMalformed, byte(f.Type))
	}
	if err := json.Unmarshal(f.Payload, msg); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrMalformed, f.Type, err)
	}
	return msg, nil
}
