package cacheruntime

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"weak"

	"github.com/cachelens/cachelens/wire"
)

// A Reporter sends what the caches of this process do to cachelens
// language servers over local Unix sockets. It never blocks or fails the
// program: counts are kept by the caches themselves, and the reporter's
// own goroutine reads them a few times a second and sends what changed.
// A slow or absent server costs dropped reports (counted and reported
// later), never a blocked call.
//
// Programs normally use the process-wide reporter, which starts with the
// first cache and is configured by the environment: CACHELENS=off turns
// it off, CACHELENS_SOCKET=path names the server's socket, and otherwise
// it connects to every server registered in the per-user runtime directory
// whose workspace contains the program's source.
type Reporter struct {
	socket   string
	dir      string
	interval time.Duration
	debug    bool
	fault    bool // testing: every cycle panics

	mu     sync.Mutex
	caches []weak.Pointer[cache]

	start   sync.Once
	kick    chan chan struct{}
	closing chan struct{}
	done    chan struct{}

	// owned by the loop goroutine
	conns        map[string]*rconn
	lastDiscover time.Time
	hello        wire.Hello

	drops     atomic.Int64
	sentDrops int64
	connected atomic.Int32
	frames    atomic.Int64
}

// ReporterOptions configures NewReporter.
type ReporterOptions struct {
	// Socket is the server's socket. Empty: discover servers in Dir.
	Socket string
	// Dir is where servers register; empty means wire.RuntimeDir().
	Dir string
	// Interval between sends; 0 means 100ms.
	Interval time.Duration
}

const (
	discoverEvery = 2 * time.Second
	writeTimeout  = 250 * time.Millisecond
	dialTimeout   = 250 * time.Millisecond
)

// NewReporter returns a reporter with its own connections. Pass it to a
// cache with WithReporter. Tests use it to report to a private server.
func NewReporter(o ReporterOptions) *Reporter {
	r := &Reporter{
		socket:   o.Socket,
		dir:      o.Dir,
		interval: o.Interval,
		kick:     make(chan chan struct{}),
		closing:  make(chan struct{}),
		done:     make(chan struct{}),
		conns:    map[string]*rconn{},
		debug:    os.Getenv("CACHELENS_DEBUG") != "",
	}
	if r.dir == "" {
		r.dir = wire.RuntimeDir()
	}
	if r.interval <= 0 {
		r.interval = 100 * time.Millisecond
	}
	return r
}

var (
	defaultOnce sync.Once
	defaultRep  *Reporter
)

// defaultReporter returns the process-wide reporter, or nil when reporting
// is turned off with CACHELENS=off.
func defaultReporter() *Reporter {
	defaultOnce.Do(func() {
		if v := strings.ToLower(os.Getenv(wire.EnvOff)); v == "off" || v == "0" || v == "false" {
			return
		}
		defaultRep = NewReporter(ReporterOptions{Socket: os.Getenv(wire.EnvSocket)})
	})
	return defaultRep
}

// Flush sends everything recorded so far to the connected language
// servers (looking for servers first if none is connected) and waits until
// it is written, for at most a second. Call it before a short program
// exits (defer cacheruntime.Flush() in main) or at the end of TestMain;
// Go has no exit hook, so counts after the last periodic send are
// otherwise lost. It does nothing when reporting is off.
func Flush() {
	if r := defaultReporter(); r != nil {
		r.Flush()
	}
}

// Flush sends everything recorded so far and waits (at most a second).
func (r *Reporter) Flush() {
	r.mu.Lock()
	started := len(r.caches) > 0
	r.mu.Unlock()
	if !started {
		return
	}
	done := make(chan struct{})
	select {
	case r.kick <- done:
	case <-r.done:
		return
	case <-time.After(time.Second):
		return
	}
	select {
	case <-done:
	case <-time.After(time.Second):
	}
}

// Close stops the reporter after a final send and closes its connections.
func (r *Reporter) Close() error {
	r.Flush()
	r.start.Do(func() { close(r.done) }) // never started
	select {
	case <-r.closing:
	default:
		close(r.closing)
	}
	<-r.done
	return nil
}

// Connected returns the number of servers the reporter is connected to.
func (r *Reporter) Connected() int { return int(r.connected.Load()) }

// Dropped returns the number of frames that could not be delivered.
func (r *Reporter) Dropped() int64 { return r.drops.Load() }

func (r *Reporter) register(c *cache) {
	r.mu.Lock()
	r.caches = append(r.caches, weak.Make(c))
	r.mu.Unlock()
	r.start.Do(func() { go r.loop() })
}

func (r *Reporter) logf(format string, args ...any) {
	if r.debug {
		fmt.Fprintf(os.Stderr, "cachelens reporter: "+format+"\n", args...)
	}
}

// live returns the caches that still exist.
func (r *Reporter) live() []*cache {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*cache, 0, len(r.caches))
	keep := r.caches[:0]
	for _, w := range r.caches {
		if c := w.Value(); c != nil {
			out = append(out, c)
			keep = append(keep, w)
		}
	}
	clear(r.caches[len(keep):])
	r.caches = keep
	return out
}

func (r *Reporter) loop() {
	defer close(r.done)
	r.hello = makeHello()
	t := time.NewTicker(r.interval)
	defer t.Stop()
	r.cycle(true)
	for {
		select {
		case <-t.C:
			r.cycle(false)
		case done := <-r.kick:
			r.cycle(true)
			close(done)
		case <-r.closing:
			r.cycle(false)
			for _, c := range r.conns {
				c.conn.Close()
			}
			r.connected.Store(0)
			return
		}
	}
}

func makeHello() wire.Hello {
	h := wire.Hello{Proto: wire.Version, PID: os.Getpid(), GoVersion: runtime.Version(), Start: time.Now()}
	if exe, err := os.Executable(); err == nil {
		h.Program = exe
		if fi, err := os.Stat(exe); err == nil {
			h.Built = fi.ModTime()
		}
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		h.Module = bi.Main.Path
	}
	h.Dir, _ = os.Getwd()
	return h
}

// cycle connects to new servers when it is time to look, then sends. A
// fault inside it is logged and the connections are dropped (the next
// connection sends totals again); it never stops the program.
func (r *Reporter) cycle(force bool) {
	defer func() {
		if v := recover(); v != nil {
			r.logf("internal error while reporting: %v", v)
			for path, c := range r.conns {
				c.conn.Close()
				delete(r.conns, path)
			}
			r.connected.Store(0)
		}
	}()
	if r.fault {
		panic("injected fault: report")
	}
	caches := r.live()
	if len(caches) == 0 {
		return
	}
	if force || len(r.conns) == 0 && time.Since(r.lastDiscover) >= discoverEvery || time.Since(r.lastDiscover) >= 5*discoverEvery {
		r.discover(caches)
	}
	for path, c := range r.conns {
		if err := r.send(c, caches); err != nil {
			r.logf("sending to %s: %v", path, err)
			c.conn.Close()
			delete(r.conns, path)
		}
	}
	r.connected.Store(int32(len(r.conns)))
}

// discover connects to the explicit socket or to every registered server
// whose workspace root contains one of the program's cached functions.
func (r *Reporter) discover(caches []*cache) {
	r.lastDiscover = time.Now()
	var targets []string
	if r.socket != "" {
		targets = []string{r.socket}
	} else {
		regs, _, err := wire.Registrations(r.dir)
		if err != nil && len(regs) == 0 {
			r.logf("discovery in %s: %v", r.dir, err)
		}
		for _, reg := range regs {
			for _, c := range caches {
				if wire.Contains(reg.Root, c.file) {
					targets = append(targets, reg.Socket)
					break
				}
			}
		}
	}
	for _, path := range targets {
		if _, ok := r.conns[path]; ok {
			continue
		}
		conn, err := net.DialTimeout("unix", path, dialTimeout)
		if err != nil {
			r.logf("connecting to %s: %v", path, err)
			continue
		}
		r.logf("connected to %s", path)
		r.conns[path] = newRconn(conn)
	}
}

// rconn is one connection and what has been sent on it.
type rconn struct {
	conn  net.Conn
	w     *bufio.Writer
	hello bool
	defs  map[*cache]defSent
	sites map[*site]siteSent
	errs  map[*hashErrRec]int64
	muts  map[*mutRec]int64
	buf   []byte
}

type defSent struct {
	evictions, expired, mutations, hashErrs, computeNs, computes, hashNs, hashN int64
	entries, bytes                                                              int64
}

type siteSent struct {
	id                     int
	hits, misses, uncached int64
	reasons                map[MissReason]int64
}

func newRconn(c net.Conn) *rconn {
	return &rconn{
		conn:  c,
		w:     bufio.NewWriterSize(c, 32<<10),
		defs:  map[*cache]defSent{},
		sites: map[*site]siteSent{},
		errs:  map[*hashErrRec]int64{},
		muts:  map[*mutRec]int64{},
	}
}

var siteIDs atomic.Int64

// send writes everything that changed since the last send on c.
func (r *Reporter) send(c *rconn, caches []*cache) error {
	frames := 0
	put := func(msg any) error {
		var err error
		c.buf, err = wire.AppendFrame(c.buf[:0], msg)
		if err != nil {
			return err
		}
		frames++
		_, err = c.w.Write(c.buf)
		return err
	}
	if err := c.conn.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
		return err
	}
	fail := func(err error) error {
		r.drops.Add(int64(frames))
		return err
	}
	if !c.hello {
		if err := put(&r.hello); err != nil {
			return fail(err)
		}
		c.hello = true
	}
	var stats wire.Stats
	var events []any
	// Only records still in the caches' bounded logs are remembered, so
	// this connection's memory stays bounded too.
	errs, muts := make(map[*hashErrRec]int64, len(c.errs)), make(map[*mutRec]int64, len(c.muts))
	defer func() { c.errs, c.muts = errs, muts }()
	for _, cc := range caches {
		ds, known := c.defs[cc]
		if !known {
			if err := put(cc.wireDef()); err != nil {
				return fail(err)
			}
		}
		now := cc.defSnapshot()
		if !known || now != ds {
			stats.Defs = append(stats.Defs, wire.DefCounts{
				Def: int(cc.id), Evictions: now.evictions - ds.evictions, Expired: now.expired - ds.expired,
				Mutations: now.mutations - ds.mutations, HashErrors: now.hashErrs - ds.hashErrs,
				ComputeNs: now.computeNs - ds.computeNs, Computes: now.computes - ds.computes,
				HashNs: now.hashNs - ds.hashNs, HashN: now.hashN - ds.hashN,
				Entries: now.entries, Bytes: now.bytes,
			})
			c.defs[cc] = now
		}
		for _, st := range cc.sites.all() {
			ss, known := c.sites[st]
			if !known {
				ss = siteSent{id: st.gid(), reasons: map[MissReason]int64{}}
				file, line, fn := st.where()
				if err := put(&wire.Site{ID: ss.id, Def: int(cc.id), File: file, Line: line, Func: fn}); err != nil {
					return fail(err)
				}
			}
			hits, misses, uncached := st.totals()
			if hits != ss.hits || misses != ss.misses || uncached != ss.uncached {
				stats.Sites = append(stats.Sites, wire.SiteCounts{Site: ss.id, Hits: hits - ss.hits, Misses: misses - ss.misses, Uncached: uncached - ss.uncached})
				ss.hits, ss.misses, ss.uncached = hits, misses, uncached
			}
			st.mu.Lock()
			for _, rc := range st.reasons {
				if d := rc.count - ss.reasons[rc.reason]; d > 0 {
					events = append(events, &wire.Miss{Site: ss.id, Kind: rc.reason.Kind.wireName(), Arg: rc.reason.Arg, Path: rc.reason.Path, Text: rc.reason.String(), Count: d})
					ss.reasons[rc.reason] = rc.count
				}
			}
			st.mu.Unlock()
			c.sites[st] = ss
		}
		cc.logMu.Lock()
		for _, e := range cc.errLog {
			if d := e.count - c.errs[e]; d > 0 {
				events = append(events, &wire.HashErr{Def: int(cc.id), Site: c.siteID(e.site), Arg: e.err.Arg, ArgType: e.err.ArgType,
					Path: e.err.Path, Type: e.err.Type, Panic: e.err.Panic, Suggest: e.err.Suggest, Text: e.err.Detail(), Count: d})
			}
			errs[e] = e.count
		}
		for _, m := range cc.mutLog {
			if d := m.count - c.muts[m]; d > 0 {
				events = append(events, &wire.Mutation{Def: int(cc.id), Recv: c.siteID(m.recv), Detect: c.siteID(m.detected), Path: m.path, Count: d})
			}
			muts[m] = m.count
		}
		cc.logMu.Unlock()
	}
	if len(stats.Defs) > 0 || len(stats.Sites) > 0 {
		if err := put(&stats); err != nil {
			return fail(err)
		}
	}
	for _, ev := range events {
		if err := put(ev); err != nil {
			return fail(err)
		}
	}
	if d := r.drops.Load(); d > r.sentDrops {
		if err := put(&wire.Drops{Count: d - r.sentDrops}); err != nil {
			return fail(err)
		}
		r.sentDrops = d
	}
	if err := c.w.Flush(); err != nil {
		return fail(err)
	}
	r.frames.Add(int64(frames))
	return nil
}

// siteID returns the id a site was announced under on this connection, or
// 0 for a site not announced (nil).
func (c *rconn) siteID(s *site) int {
	if s == nil {
		return 0
	}
	if ss, ok := c.sites[s]; ok {
		return ss.id
	}
	return 0
}

func (c *cache) wireDef() *wire.Def {
	return &wire.Def{
		ID: int(c.id), File: c.file, Line: c.line, Name: c.name, Sig: c.sig,
		AllowMutation: c.cfg.allowMutation, TTL: int64(c.cfg.ttl), MaxEntries: c.cfg.maxEntries, Strict: c.strict,
	}
}

func (c *cache) defSnapshot() defSent {
	if c.cfg.ttl > 0 {
		c.expireDue(c.now()) // entries counts live entries only
	}
	return defSent{
		evictions: c.evictions.Load(), expired: c.expired.Load(), mutations: c.mutations.Load(), hashErrs: c.hashErrs.Load(),
		computeNs: c.computeNs.Load(), computes: c.computes.Load(), hashNs: c.hashNs.Load(), hashN: c.hashN.Load(),
		entries: c.entries.Load(), bytes: c.bytes.Load(),
	}
}

// wireName is the kind's name on the wire.
func (k MissKind) wireName() string {
	switch k {
	case MissFirst:
		return "first"
	case MissArgs:
		return "args"
	case MissExpired:
		return "expired"
	case MissEvicted:
		return "evicted"
	case MissMutated:
		return "mutated"
	case MissCleared:
		return "cleared"
	case MissError:
		return "error"
	case MissPanicked:
		return "panicked"
	}
	return "unknown"
}
